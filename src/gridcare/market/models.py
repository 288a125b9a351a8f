"""Market research reports (市场调研报告), satisfaction surveys (满意度调查) and the register of construction and
design units with their qualifications (施工/设计单位资质审查)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.keyaccounts.models import Industry


class ResearchReport(models.Model):
    """市场调研报告 — a report tagged by industry, region and (optionally) a prospect. Market knowledge is shared
    with every holder of ``research.view``, except a report on an unconverted prospect, which follows the
    prospect's confidentiality (客户信息保密): see :func:`gridcare.market.selectors.visible_reports`."""

    number = models.CharField(_("report number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=120)
    summary = models.TextField(_("summary"), max_length=2000)
    body = models.TextField(_("body"), blank=True)
    industry = models.CharField(_("industry"), max_length=16, choices=Industry.choices, blank=True)
    region = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
    )
    prospect = models.ForeignKey(
        "keyaccounts.Prospect",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="research_reports",
        verbose_name=_("prospect"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("author's unit")
    )
    written_on = models.DateField(_("report date"), default=timezone.localdate)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    #: title, summary, body and tags case-folded in one column: one ``LIKE`` both databases answer (a trigram
    #: GIN index serves it on PostgreSQL, see migration 0001)
    search_text = models.TextField(editable=False, default="")

    # read rule in selectors.visible_reports (shared knowledge; prospect reports follow the prospect)
    scope_public = True

    class Meta:
        ordering = ["-written_on", "-pk"]
        verbose_name = _("market research report")
        verbose_name_plural = _("market research reports")
        indexes = [models.Index(fields=["industry", "written_on"], name="market_report_industry")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("market:report-detail", args=[self.pk])


def attachment_path(instance: ReportAttachment, filename: str) -> str:
    day = timezone.localdate()
    return f"market/research/{day:%Y/%m}/{instance.sha256[:16]}.{instance.extension}"


class ReportAttachment(models.Model):
    """An uploaded document of a report (PDF, Word, Excel), stored under the media directory and served only
    to those who may read the report."""

    report = models.ForeignKey(
        ResearchReport, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("report")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    extension = models.CharField(max_length=8)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    scope_public = True  # through its report (selectors.visible_reports)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("report attachment")
        verbose_name_plural = _("report attachments")

    def __str__(self) -> str:
        return self.name


class Survey(models.Model):
    """满意度调查 — questions asked by phone of a sample of customers drawn from the data (stratified by unit
    and customer class, reproducible from its seed); the customers in scope are those under ``unit``."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("survey", "Draft")
        SAMPLED = "sampled", _("Sample drawn (interviewing)")
        CLOSED = "closed", pgettext_lazy("survey", "Closed")

    number = models.CharField(_("survey number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=120)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("customers of")
    )
    interview_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("interviewing team")
    )
    owner_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("organised by")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    sample_size = models.PositiveIntegerField(_("sample size"))
    seed = models.PositiveIntegerField(_("random seed"))
    exclude_days = models.PositiveIntegerField(_("not again within (days)"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    in_scope = models.PositiveIntegerField(_("customers in scope"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sampled_at = models.DateTimeField(_("sample drawn at"), null=True, blank=True)

    scope_unit_path = ("owner_unit__path", "unit__path", "interview_unit__path")

    class Meta:
        ordering = ["-period_start", "-pk"]
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("market:survey-detail", args=[self.pk])


class Question(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", _("Rating 1–5")
        CHOICE = "choice", _("Single choice")
        TEXT = "text", _("Free text")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("no."))
    text = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("answer type"), max_length=8, choices=Kind.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    scope_unit_path = (
        "survey__owner_unit__path",
        "survey__unit__path",
        "survey__interview_unit__path",
    )

    class Meta:
        ordering = ["survey", "position"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"], name="market_question_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text}"


class SampleEntry(models.Model):
    """One sampled customer (户) of a survey and the outcome of the call: reached, refused or unreachable."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To call")
        REACHED = "reached", _("Reached by phone")
        REFUSED = "refused", _("Refused")
        UNREACHABLE = "unreachable", _("Unreachable")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="sample")
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("supply unit")
    )
    customer_class = models.CharField(_("customer class"), max_length=20)
    status = models.CharField(
        _("call outcome"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("interviewer"),
    )
    contacted_at = models.DateTimeField(_("called at"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope_unit_path = (
        "survey__owner_unit__path",
        "survey__unit__path",
        "survey__interview_unit__path",
    )

    class Meta:
        ordering = ["survey", "pk"]
        verbose_name = _("sampled customer")
        verbose_name_plural = _("sampled customers")
        constraints = [models.UniqueConstraint(fields=["survey", "account"], name="market_sample_once")]
        indexes = [models.Index(fields=["account", "drawn_at"], name="market_sample_recent")]

    def __str__(self) -> str:
        return f"{self.survey.number} {self.account.number}"

    def get_absolute_url(self) -> str:
        return reverse("market:interview", args=[self.pk])


class Answer(models.Model):
    entry = models.ForeignKey(SampleEntry, on_delete=models.PROTECT, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    choice = models.CharField(_("choice"), max_length=60, blank=True)
    text = models.TextField(_("answer"), blank=True)

    scope_unit_path = (
        "entry__survey__owner_unit__path",
        "entry__survey__unit__path",
        "entry__survey__interview_unit__path",
    )

    class Meta:
        ordering = ["entry", "question__position"]
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        constraints = [models.UniqueConstraint(fields=["entry", "question"], name="market_answer_once")]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.rating or self.choice or self.text}"


class ContractorKind(models.TextChoices):
    CONSTRUCTION = "construction", _("Construction unit")  # 施工单位
    DESIGN = "design", _("Design unit")  # 设计单位


class QualificationType(models.TextChoices):
    """资质类别 and the kind of unit it qualifies."""

    INSTALL = "install", _("Power facility installation licence (承装)")
    REPAIR = "repair", _("Power facility repair licence (承修)")
    TEST = "test", _("Power facility testing licence (承试)")
    DESIGN = "design", _("Electric power engineering design qualification")
    DESIGN_SPECIAL = "design_special", _("Power transmission & transformation design (special)")


#: which qualification types qualify which kind of unit
QUALIFIES: dict[str, tuple[str, ...]] = {
    ContractorKind.CONSTRUCTION: (
        QualificationType.INSTALL,
        QualificationType.REPAIR,
        QualificationType.TEST,
    ),
    ContractorKind.DESIGN: (QualificationType.DESIGN, QualificationType.DESIGN_SPECIAL),
}


class Grade(models.TextChoices):
    """资质等级: 承装(修、试)电力设施许可证 一级…五级; 设计资质 甲/乙/丙级."""

    L1 = "1", _("Class 1")
    L2 = "2", _("Class 2")
    L3 = "3", _("Class 3")
    L4 = "4", _("Class 4")
    L5 = "5", _("Class 5")
    A = "A", _("Grade A")
    B = "B", _("Grade B")
    C = "C", _("Grade C")


#: the grades each qualification type has
GRADES: dict[str, tuple[str, ...]] = {
    QualificationType.INSTALL: ("1", "2", "3", "4", "5"),
    QualificationType.REPAIR: ("1", "2", "3", "4", "5"),
    QualificationType.TEST: ("1", "2", "3", "4", "5"),
    QualificationType.DESIGN: ("A", "B", "C"),
    QualificationType.DESIGN_SPECIAL: ("A", "B", "C"),
}


class Contractor(models.Model):
    """施工/设计单位 — a unit customers' projects may be given to, with its qualifications and record."""

    name = models.CharField(_("unit name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ContractorKind.choices)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)

    scope_public = True  # the register is reference data; reading it needs contractor.view (the views say so)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("contractor")
        verbose_name_plural = _("contractors")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("market:contractor-detail", args=[self.pk])


class Qualification(models.Model):
    """资质证书 — a certificate of a contractor, valid from–to (both days included)."""

    contractor = models.ForeignKey(
        Contractor, on_delete=models.PROTECT, related_name="qualifications", verbose_name=_("contractor")
    )
    qualification_type = models.CharField(
        _("qualification type"), max_length=16, choices=QualificationType.choices
    )
    grade = models.CharField(_("grade"), max_length=2, choices=Grade.choices)
    certificate_no = models.CharField(_("certificate number"), max_length=40, unique=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    scope_public = True

    class Meta:
        ordering = ["contractor", "-valid_to"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        indexes = [models.Index(fields=["valid_to"], name="market_qualification_expiry")]

    def __str__(self) -> str:
        return f"{self.get_qualification_type_display()} {self.get_grade_display()} {self.certificate_no}"

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_to


class PerformanceRecord(models.Model):
    """业绩记录 — a project given to the contractor, a rating of its work, or a complaint about it."""

    class Kind(models.TextChoices):
        PROJECT = "project", _("Project")
        RATING = "rating", _("Rating")
        COMPLAINT = "complaint", _("Complaint")

    contractor = models.ForeignKey(
        Contractor, on_delete=models.PROTECT, related_name="records", verbose_name=_("contractor")
    )
    kind = models.CharField(_("record type"), max_length=12, choices=Kind.choices)
    project = models.CharField(_("project"), max_length=120)
    happened_on = models.DateField(_("date"))
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    qualification = models.ForeignKey(
        Qualification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("qualification relied on"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    scope_public = True
    display_units: ClassVar[dict[str, str]] = {}

    class Meta:
        ordering = ["-happened_on", "-pk"]
        verbose_name = _("performance record")
        verbose_name_plural = _("performance records")

    def __str__(self) -> str:
        return f"{self.happened_on} {self.project}"
