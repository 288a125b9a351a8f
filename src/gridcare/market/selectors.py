"""Careful reads of the market app: who reads which research report (a report on an unconverted prospect
follows the prospect's confidentiality), the report search, survey results and coverage, and which contractors
may be selected on a day (an expired qualification may not)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from gridcare.core.access import has_perm, not_found_message
from gridcare.core.errors import InvalidInput, NotFound
from gridcare.keyaccounts.models import Prospect
from gridcare.keyaccounts.selectors import visible_prospects
from gridcare.market.conf import conf
from gridcare.market.models import (
    QUALIFIES,
    Answer,
    Contractor,
    Qualification,
    Question,
    ResearchReport,
    SampleEntry,
    Survey,
)

READ_REPORTS = ("research.view", "research.write")


# ------------------------------------------------------------------------------------------- research reports


def visible_reports(user: Any) -> QuerySet[ResearchReport]:
    """The reports ``user`` may read: market knowledge is shared with every holder of ``research.view`` (or
    ``research.write``) in the company, except that a report on a prospect not yet converted is read only by
    those who see the prospect (its owner and the managers above, 客户信息保密) — lists, search, the prospect
    page, the key-account 360 view, downloads and the API all read through here."""
    queryset = ResearchReport.objects.select_related("author", "region", "prospect")
    if not any(has_perm(user, code) for code in READ_REPORTS):
        return queryset.none()
    open_prospect = Q(prospect__isnull=False) & ~Q(prospect__status=Prospect.Status.CONVERTED)
    seen = visible_prospects(user).values("pk")
    return queryset.filter(~open_prospect | Q(prospect__in=seen))


def report_in_scope(user: Any, pk: Any) -> ResearchReport:
    try:
        found = visible_reports(user).filter(pk=pk).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise NotFound(not_found_message(ResearchReport))
    return found


def open_attachment(attachment: Any) -> Any:
    """The stored file, open for reading; a file missing from the media directory answers 404 with the reason."""
    try:
        return attachment.file.open("rb")
    except FileNotFoundError:
        raise NotFound(
            f"附件「{attachment.name}」的文件不在存储中，请联系系统管理员。 (The stored file is missing.)"
        ) from None


def fold(text: str) -> str:
    """Case-folded, whitespace collapsed: how both the stored search text and a query are compared."""
    return " ".join(str(text).casefold().split())


def search_key(report: ResearchReport) -> str:
    parts = [report.number, report.title, report.summary, report.body, report.get_industry_display()]
    if report.region_id:
        parts.append(report.region.name)  # type: ignore[union-attr]
    if report.prospect_id:
        parts.append(report.prospect.name)  # type: ignore[union-attr]
    return fold("\n".join(p for p in parts if p))


def search_reports(queryset: QuerySet[ResearchReport], text: str) -> QuerySet[ResearchReport]:
    """Reports whose title, summary, body or tags contain every word of ``text`` (case-insensitive). One
    ``LIKE '%…%'`` per word on the case-folded ``search_text``: SQLite scans, PostgreSQL answers from the
    trigram GIN index (pg_trgm; Chinese has no word boundaries a full-text parser would find)."""
    words = fold(text[:200]).split()
    for word in words[:8]:
        queryset = queryset.filter(search_text__contains=word)
    return queryset


# ------------------------------------------------------------------------------------------------ surveys


@dataclass
class QuestionResult:
    question: Question
    average: float | None = None  # ratings: the mean score
    answered: int = 0
    distribution: list[tuple[str, int]] = field(default_factory=list)  # (rating or choice, count)
    texts: list[str] = field(default_factory=list)  # free text: a few answers


@dataclass
class UnitResult:
    unit_id: int
    unit_name: str
    in_scope: int = 0
    sampled: int = 0
    reached: int = 0
    refused: int = 0
    unreachable: int = 0
    averages: list[float | None] = field(default_factory=list)  # per rating question, in order

    @property
    def called(self) -> int:
        return self.reached + self.refused + self.unreachable

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.reached / self.called, 1) if self.called else None

    @property
    def coverage(self) -> float | None:
        return round(100 * self.reached / self.in_scope, 1) if self.in_scope else None


@dataclass
class SurveyResults:
    survey: Survey
    units: list[UnitResult]
    questions: list[QuestionResult]
    total: UnitResult


def population(survey_unit_path: str) -> QuerySet[Any]:
    """The customers (户: active accounts) in a survey's scope: those under its unit."""
    from gridcare.customers.models import Account

    return Account.objects.filter(status=Account.Status.ACTIVE, org_unit__path__startswith=survey_unit_path)


def survey_results(survey: Survey) -> SurveyResults:
    """Per supply unit: customers in scope, sampled, reached / refused / unreachable, response rate (reached of
    those called), coverage (reached of those in scope) and the average score of each rating question; per
    question: the average and the distribution of the answers."""
    from gridcare.org.models import OrgUnit

    questions = list(survey.questions.order_by("position"))
    rating_ids = [q.pk for q in questions if q.kind == Question.Kind.RATING]
    in_scope = dict(
        population(survey.unit.path)
        .values_list("org_unit_id")
        .annotate(n=Count("pk"))
        .values_list("org_unit_id", "n")
    )
    outcome = (
        survey.sample.values("unit_id", "status")
        .annotate(n=Count("pk"))
        .values_list("unit_id", "status", "n")
    )
    unit_ids = set(in_scope)
    counts: dict[tuple[int, str], int] = {}
    for unit_id, status, n in outcome:
        counts[(unit_id, status)] = n
        unit_ids.add(unit_id)
    names = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    answers = Answer.objects.filter(entry__survey=survey, entry__status=SampleEntry.Status.REACHED)
    unit_avg: dict[tuple[int, int], list[int]] = {}
    for unit_id, question_id, rating in answers.filter(
        question_id__in=rating_ids, rating__isnull=False
    ).values_list("entry__unit_id", "question_id", "rating"):
        unit_avg.setdefault((unit_id, question_id), []).append(int(rating or 0))

    def mean(values: list[int]) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    units = []
    for unit_id in sorted(unit_ids, key=lambda u: names.get(u, "")):
        result = UnitResult(
            unit_id=unit_id,
            unit_name=names.get(unit_id, "—"),
            in_scope=in_scope.get(unit_id, 0),
            reached=counts.get((unit_id, "reached"), 0),
            refused=counts.get((unit_id, "refused"), 0),
            unreachable=counts.get((unit_id, "unreachable"), 0),
            averages=[mean(unit_avg.get((unit_id, q), [])) for q in rating_ids],
        )
        result.sampled = sum(n for (u, _s), n in counts.items() if u == unit_id)
        units.append(result)
    total = UnitResult(
        unit_id=survey.unit_id,
        unit_name=survey.unit.name,
        in_scope=sum(u.in_scope for u in units),
        sampled=sum(u.sampled for u in units),
        reached=sum(u.reached for u in units),
        refused=sum(u.refused for u in units),
        unreachable=sum(u.unreachable for u in units),
        averages=[
            mean([r for (_u, q), values in unit_avg.items() if q == qid for r in values])
            for qid in rating_ids
        ],
    )
    per_question = []
    for question in questions:
        rows = answers.filter(question=question)
        result_q = QuestionResult(question=question, answered=rows.count())
        if question.kind == Question.Kind.RATING:
            found = dict(rows.values_list("rating").annotate(n=Count("pk")).values_list("rating", "n"))
            result_q.distribution = [(str(score), found.get(score, 0)) for score in range(1, 6)]
            ratings: list[int] = []
            for score, n in found.items():
                if score is not None:
                    ratings.extend([int(score)] * n)
            result_q.average = mean(ratings)
        elif question.kind == Question.Kind.CHOICE:
            found_c = dict(rows.values_list("choice").annotate(n=Count("pk")).values_list("choice", "n"))
            result_q.distribution = [(str(c), found_c.get(str(c), 0)) for c in question.choices]
        else:
            result_q.texts = [t for t in rows.exclude(text="").values_list("text", flat=True)[:20]]
        per_question.append(result_q)
    return SurveyResults(survey=survey, units=units, questions=per_question, total=total)


def coverage(surveys: QuerySet[Survey]) -> tuple[int, int]:
    """(customers reached, customers in scope) over ``surveys``: the distinct accounts reached by any of them,
    of the distinct active accounts under any of their units — 满意度调查覆盖率."""
    paths = sorted(set(surveys.values_list("unit__path", flat=True)))
    if not paths:
        return 0, 0
    kept: list[str] = []
    for path in paths:  # a unit under another one adds nothing
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    from gridcare.customers.models import Account

    condition = Q()
    for path in kept:
        condition |= Q(org_unit__path__startswith=path)
    whole = Account.objects.filter(condition, status=Account.Status.ACTIVE).count()
    reached = (
        SampleEntry.objects.filter(survey__in=surveys.values("pk"), status=SampleEntry.Status.REACHED)
        .values("account_id")
        .distinct()
        .count()
    )
    return reached, whole


# -------------------------------------------------------------------------------------------- contractors


def qualifying(kind: str, on_date: dt.date) -> Q:
    """A qualification of a type that qualifies ``kind``, valid on ``on_date``."""
    return Q(
        qualifications__qualification_type__in=QUALIFIES.get(kind, ()),
        qualifications__valid_from__lte=on_date,
        qualifications__valid_to__gte=on_date,
    )


def selectable_contractors(kind: str, on_date: dt.date | None = None) -> QuerySet[Contractor]:
    """施工/设计单位 that may be given a project on ``on_date`` (today by default): of the ``kind`` asked, holding
    a qualification of a type that qualifies it, valid on that day. Expired (or not yet valid) ones are left
    out — the new-connection cases choose from this."""
    day = on_date or timezone.localdate()
    matching = Contractor.objects.filter(qualifying(kind, day)).values("pk")
    return Contractor.objects.filter(kind=kind, pk__in=matching)


def valid_qualification(contractor: Contractor, kind: str, on_date: dt.date) -> Qualification | None:
    return (
        contractor.qualifications.filter(
            qualification_type__in=QUALIFIES.get(kind, ()), valid_from__lte=on_date, valid_to__gte=on_date
        )
        .order_by("grade", "-valid_to")
        .first()
    )


def check_selectable(
    contractor: Contractor, kind: str, on_date: dt.date, *, field_name: str = "contractor"
) -> Qualification:
    """The qualification that lets ``contractor`` be selected for a ``kind`` job on ``on_date``, or the refusal
    with the reason (wrong kind, expired on …, not yet valid, none on file)."""
    from gridcare.market.models import ContractorKind

    if contractor.kind != kind:
        raise InvalidInput(
            {
                field_name: f"「{contractor.name}」是{contractor.get_kind_display()}，不是{ContractorKind(kind).label}。 "
                f"(The unit is of another kind.)"
            }
        )
    found = valid_qualification(contractor, kind, on_date)
    if found is not None:
        return found
    latest = (
        contractor.qualifications.filter(qualification_type__in=QUALIFIES.get(kind, ()))
        .order_by("-valid_to")
        .first()
    )
    if latest is None:
        reason = f"「{contractor.name}」没有登记有效资质，不能选用。 (No qualification on file.)"
    elif latest.valid_to < on_date:
        reason = (
            f"「{contractor.name}」的资质（证书 {latest.certificate_no}）已于 {latest.valid_to} 过期，不能选用。 "
            f"(The qualification expired on {latest.valid_to}.)"
        )
    else:
        reason = (
            f"「{contractor.name}」的资质（证书 {latest.certificate_no}）自 {latest.valid_from} 起才生效，不能选用。 "
            f"(The qualification is valid only from {latest.valid_from}.)"
        )
    raise InvalidInput({field_name: reason})


def contractor_status(contractor: Contractor, today: dt.date | None = None) -> str:
    """valid / expiring (within ``QUALIFICATION_WARNING_DAYS``) / expired / none — for the status badge."""
    day = today or timezone.localdate()
    current = valid_qualification(contractor, contractor.kind, day)
    if current is None:
        has_any = contractor.qualifications.exists()
        return "expired" if has_any else "none"
    if current.valid_to <= day + dt.timedelta(days=int(conf("QUALIFICATION_WARNING_DAYS"))):
        return "expiring"
    return "valid"


def expiring_qualifications(today: dt.date | None = None) -> QuerySet[Qualification]:
    """Qualifications ending within ``QUALIFICATION_WARNING_DAYS`` (and not yet ended): 资质到期预警."""
    day = today or timezone.localdate()
    until = day + dt.timedelta(days=int(conf("QUALIFICATION_WARNING_DAYS")))
    renewed = Qualification.objects.filter(
        contractor=OuterRef("contractor"),
        qualification_type=OuterRef("qualification_type"),
        valid_to__gt=OuterRef("valid_to"),
    )
    return (
        Qualification.objects.filter(valid_to__gte=day, valid_to__lte=until)
        .exclude(Exists(renewed))
        .select_related("contractor")
    )
