"""Satisfaction surveys (满意度调查): create, draw the sample from the data, record the interviews, close."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db.models import Min
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.core.numbering import Counter, next_number
from gridcare.customers.models import Contact
from gridcare.engine.sampling import stratified_sample
from gridcare.market.conf import conf
from gridcare.market.models import Answer, Question, SampleEntry, Survey
from gridcare.market.selectors import population
from gridcare.org.models import OrgUnit, User

SURVEY_NUMBERS = Counter("survey", "market_survey_number_seq")
SURVEY_FIELDS = [
    "number",
    "title",
    "period_start",
    "period_end",
    "unit_id",
    "interview_unit_id",
    "sample_size",
    "seed",
    "exclude_days",
    "status",
]


def clean_questions(raw: Any) -> list[dict[str, Any]]:
    """Each question: text, kind (rating / choice / text), choices (a choice question needs two or more)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput({"questions": "请至少设置一个问题。 (At least one question is required.)"})
    if len(raw) > 50:
        raise InvalidInput({"questions": "问题最多 50 个。 (At most 50 questions.)"})
    cleaned = []
    for number, item in enumerate(raw, start=1):
        where = f"第 {number} 题"
        if not isinstance(item, dict):
            raise InvalidInput({"questions": f"{where}格式不正确。 (Question {number} is malformed.)"})
        text = str(item.get("text") or "").strip()
        kind = str(item.get("kind") or "")
        choices = item.get("choices") or []
        if not text or len(text) > 200:
            raise InvalidInput(
                {"questions": f"{where}：请填写问题（最长 200 字）。 (Question {number}: text required.)"}
            )
        if kind not in Question.Kind.values:
            raise InvalidInput(
                {
                    "questions": f"{where}：题型应为 rating（1–5 分）、choice（单选）或 text（文字）。 "
                    f"(Question {number}: unknown kind '{kind}'.)"
                }
            )
        if isinstance(choices, str):
            choices = [c for c in (part.strip() for part in choices.replace("，", ",").split(",")) if c]
        if not isinstance(choices, list) or any(not isinstance(c, str) for c in choices):
            raise InvalidInput({"questions": f"{where}：选项格式不正确。 (Question {number}: bad choices.)"})
        choices = [c.strip()[:60] for c in choices if c.strip()]
        if kind == Question.Kind.CHOICE and len(set(choices)) < 2:
            raise InvalidInput(
                {
                    "questions": f"{where}：单选题至少需要两个不同选项。 (Question {number}: two choices at least.)"
                }
            )
        cleaned.append(
            {"text": text, "kind": kind, "choices": choices if kind == Question.Kind.CHOICE else []}
        )
    return cleaned


@action("market.create_survey", permission="survey.manage")
def do_create_survey(
    actor: User,
    *,
    title: str,
    period_start: dt.date,
    period_end: dt.date,
    unit: OrgUnit,
    interview_unit: OrgUnit,
    questions: Any,
    sample_size: int | None = None,
    seed: int | None = None,
    exclude_days: int | None = None,
) -> Survey:
    """A survey of the customers under ``unit``, called by ``interview_unit``; the sample size, the seed (random
    if not given, kept so the sample can be drawn again identically) and the days a customer is not called
    again default to the settings."""
    errors: dict[str, str] = {}
    title = str(title or "").strip()
    if not title or len(title) > 120:
        errors["title"] = "请填写标题（最长 120 字）。 (A title of at most 120 characters is required.)"
    if not isinstance(period_start, dt.date) or not isinstance(period_end, dt.date):
        errors["period_end"] = "请填写调查期间。 (The period is required.)"
    elif period_end < period_start:
        errors["period_end"] = "结束日期早于开始日期。 (The period ends before it starts.)"
    size = int(conf("SURVEY_SAMPLE_SIZE")) if sample_size is None else sample_size
    largest = int(conf("SURVEY_MAX_SAMPLE"))
    if not isinstance(size, int) or not 1 <= size <= largest:
        errors["sample_size"] = f"样本量应在 1–{largest} 之间。 (Sample size must be 1–{largest}.)"
    days = int(conf("SURVEY_EXCLUDE_DAYS")) if exclude_days is None else exclude_days
    if not isinstance(days, int) or not 0 <= days <= 3650:
        errors["exclude_days"] = "免打扰天数应在 0–3650 之间。 (Days must be 0–3650.)"
    if seed is not None and (not isinstance(seed, int) or not 0 <= seed < 2**31):
        errors["seed"] = "随机种子应为 0–2147483647 的整数。 (Seed must be 0–2147483647.)"
    for name, value in (("unit", unit), ("interview_unit", interview_unit)):
        if not isinstance(value, OrgUnit) or not value.is_active:
            errors[name] = "请选择有效的单位。 (Choose an active unit.)"
    if actor.org_unit_id is None:
        errors["title"] = "您未归属任何单位。 (You belong to no unit.)"
    try:
        cleaned = clean_questions(questions)
    except InvalidInput as problem:
        errors.update({k: v[0] for k, v in problem.errors.items()})
    if errors:
        raise InvalidInput(errors)
    assert actor.org_unit_id is not None
    survey = Survey.objects.create(
        number=next_number(SURVEY_NUMBERS, Survey, "MY", 8),
        title=title,
        period_start=period_start,
        period_end=period_end,
        unit=unit,
        interview_unit=interview_unit,
        owner_unit_id=actor.org_unit_id,
        created_by=actor,
        sample_size=size,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        exclude_days=days,
    )
    Question.objects.bulk_create(
        Question(survey=survey, position=n, **q) for n, q in enumerate(cleaned, start=1)
    )
    audit.record(
        actor,
        "market.create_survey",
        survey,
        after={**audit.snapshot(survey, SURVEY_FIELDS), "questions": cleaned},
    )
    return survey


@action("market.draw_sample", permission="survey.manage")
def do_draw_sample(actor: User, survey: Survey | int) -> Survey:
    """抽样 — draw the survey's sample from the data: the active accounts under its unit, less those sampled by
    another survey within ``exclude_days``, stratified by supply unit and customer class (proportional
    allocation), reproducible from the survey's seed. Set-based: three queries and one bulk insert."""
    pk = survey.pk if isinstance(survey, Survey) else survey
    found = get_in_scope(Survey.objects.select_for_update().select_related("unit"), actor, write=True, pk=pk)
    if found.status != Survey.Status.DRAFT:
        raise Conflict("该调查已抽样，不能重复抽样。 (The sample of this survey is already drawn.)")
    accounts = population(found.unit.path)
    in_scope = accounts.count()
    since = timezone.now() - dt.timedelta(days=found.exclude_days)
    recent = SampleEntry.objects.filter(drawn_at__gte=since).exclude(survey=found).values("account_id")
    rows = list(
        accounts.exclude(pk__in=recent)
        .annotate(klass=Min("service_points__customer_class"))
        .values_list("pk", "org_unit_id", "klass")
    )
    if not rows:
        raise Conflict(
            "调查范围内没有可抽取的客户（或都在免打扰期内）。 (No customer in scope can be drawn.)"
        )
    ids = [r[0] for r in rows]
    strata = [f"{r[1]}|{r[2] or ''}" for r in rows]
    drawn = set(stratified_sample(ids, strata, found.sample_size, found.seed).tolist())
    now = timezone.now()
    SampleEntry.objects.bulk_create(
        [
            SampleEntry(
                survey=found, account_id=pk_, unit_id=unit_id, customer_class=klass or "", drawn_at=now
            )
            for pk_, unit_id, klass in rows
            if pk_ in drawn
        ],
        batch_size=2000,
    )
    before = audit.snapshot(found, ["status"])
    found.status = Survey.Status.SAMPLED
    found.in_scope = in_scope
    found.sampled_at = now
    found.save(update_fields=["status", "in_scope", "sampled_at"])
    audit.record(
        actor,
        "market.draw_sample",
        found,
        before=before,
        after={"status": found.status, "in_scope": in_scope, "eligible": len(rows), "drawn": len(drawn)},
    )
    return found


def _clean_answers(survey: Survey, status: str, answers: Any) -> list[dict[str, Any]]:
    questions = {q.pk: q for q in survey.questions.all()}
    if status != SampleEntry.Status.REACHED:
        if answers:
            raise InvalidInput(
                {"answers": "未接通或拒访时不能录入答案。 (Answers only when the customer was reached.)"}
            )
        return []
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise InvalidInput({"answers": "答案格式不正确。 (Answers must map question ids to values.)"})
    by_key = {str(k): v for k, v in answers.items()}
    cleaned = []
    for qid, question in questions.items():
        value = by_key.pop(str(qid), None)
        where = f"第 {question.position} 题"
        if value in (None, ""):
            if question.kind == Question.Kind.TEXT:
                continue
            raise InvalidInput(
                {"answers": f"{where}未回答。 (Question {question.position} is not answered.)"}
            )
        if question.kind == Question.Kind.RATING:
            try:
                score = int(str(value))
            except ValueError:
                score = 0
            if not 1 <= score <= 5:
                raise InvalidInput(
                    {"answers": f"{where}应为 1–5 分，收到「{value}」。 (Question {question.position}: 1–5.)"}
                )
            cleaned.append({"question": question, "rating": score})
        elif question.kind == Question.Kind.CHOICE:
            if str(value) not in question.choices:
                raise InvalidInput(
                    {
                        "answers": f"{where}的答案「{value}」不在选项中。 "
                        f"(Question {question.position}: not one of the choices.)"
                    }
                )
            cleaned.append({"question": question, "choice": str(value)})
        else:
            cleaned.append({"question": question, "text": str(value).strip()[:2000]})
    if by_key:
        raise InvalidInput(
            {"answers": f"问题 {', '.join(sorted(by_key))} 不属于该调查。 (Questions not in this survey.)"}
        )
    return cleaned


@action("market.record_interview", permission="survey.interview")
def do_record_interview(
    actor: User, entry: SampleEntry | int, *, status: str, answers: Any = None, note: str = ""
) -> SampleEntry:
    """电话访问 — the interviewer records the outcome of the call (reached / refused / unreachable) and, when
    reached, an answer to every question (ratings 1–5, one of the choices, free text). A call may be recorded
    again while the survey is open (a refusal first, reached later); the audit row keeps what was there."""
    pk = entry.pk if isinstance(entry, SampleEntry) else entry
    found = get_in_scope(
        SampleEntry.objects.select_for_update().select_related("survey"), actor, write=True, pk=pk
    )
    if found.survey.status != Survey.Status.SAMPLED:
        raise Conflict("该调查未在访问阶段（未抽样或已结束）。 (The survey is not being interviewed.)")
    if status not in (SampleEntry.Status.REACHED, SampleEntry.Status.REFUSED, SampleEntry.Status.UNREACHABLE):
        raise InvalidInput(
            {
                "status": "访问结果应为 reached（接通）、refused（拒访）或 unreachable（未接通）。 (Unknown outcome.)"
            }
        )
    cleaned = _clean_answers(found.survey, status, answers)
    before = {
        **audit.snapshot(found, ["status", "interviewer_id", "note"]),
        "answers": {str(a.question_id): a.rating or a.choice or a.text for a in found.answers.all()},
    }
    found.answers.all().delete()
    Answer.objects.bulk_create(Answer(entry=found, **values) for values in cleaned)
    found.status = status
    found.interviewer = actor
    found.contacted_at = timezone.now()
    found.note = str(note or "").strip()[:200]
    found.save(update_fields=["status", "interviewer", "contacted_at", "note"])
    after = {
        **audit.snapshot(found, ["status", "interviewer_id", "note"]),
        "answers": {
            str(a["question"].pk): a.get("rating") or a.get("choice") or a.get("text") for a in cleaned
        },
    }
    audit.record(actor, "market.record_interview", found, before=before, after=after)
    return found


@action("market.view_sample_phone", permission="survey.interview")
def do_view_sample_phone(actor: User, entry: SampleEntry | int) -> dict[str, Any]:
    """回访拨号 — the clear phone numbers of a sampled customer for the interviewer's call, primary contact first;
    only while the survey is being interviewed, and every look is audited (客户信息保密)."""
    pk = entry.pk if isinstance(entry, SampleEntry) else entry
    found = get_in_scope(SampleEntry.objects.select_related("survey", "account"), actor, write=True, pk=pk)
    if found.survey.status != Survey.Status.SAMPLED:
        raise Conflict("该调查未在访问阶段，不能查看回访电话。 (The survey is not being interviewed.)")
    contacts = list(
        Contact.objects.filter(customer_id=found.account.customer_id)
        .order_by("-is_primary", "name")
        .values("name", "role", "mobile")
    )
    audit.record(
        actor,
        "market.view_sample_phone",
        found,
        note="满意度调查回访，查看客户联系电话 (phone numbers viewed for the survey call)",
        after={"account": found.account.number, "contacts": len(contacts)},
    )
    return {"entry": found.pk, "account_number": found.account.number, "contacts": contacts}


@action("market.close_survey", permission="survey.manage")
def do_close_survey(actor: User, survey: Survey | int) -> Survey:
    """结束调查 — no more answers; the results stay as they are."""
    pk = survey.pk if isinstance(survey, Survey) else survey
    found = get_in_scope(Survey.objects.select_for_update(), actor, write=True, pk=pk)
    if found.status != Survey.Status.SAMPLED:
        raise Conflict("只有访问中的调查可以结束。 (Only a survey being interviewed can be closed.)")
    found.status = Survey.Status.CLOSED
    found.save(update_fields=["status"])
    audit.record(
        actor, "market.close_survey", found, before={"status": "sampled"}, after={"status": "closed"}
    )
    return found
