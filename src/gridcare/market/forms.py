"""Forms of the market screens: shape only; the actions decide. :class:`SelectableContractorField` is the field
other apps (the new-connection cases) use to pick a construction or design unit: an expired qualification is
refused with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.errors import InvalidInput
from gridcare.core.scoped import CHOOSE, ScopedForm
from gridcare.keyaccounts.models import Industry, Prospect
from gridcare.market.models import (
    Contractor,
    ContractorKind,
    Grade,
    PerformanceRecord,
    QualificationType,
    Question,
    SampleEntry,
)
from gridcare.market.selectors import check_selectable, contractor_status
from gridcare.org.models import OrgUnit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
UNITS = OrgUnit.objects.filter(is_active=True).order_by("path")
ORG_NAME = "组织机构名称，不是客户数据 (an org-chart name, not data)"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class ReportForm(ScopedForm):
    """撰写市场调研报告."""

    routing_fields = {"region": ORG_NAME}

    title = forms.CharField(label=_("Title"), max_length=120)
    summary = forms.CharField(label=_("Summary"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(label=_("Body"), required=False, widget=forms.Textarea(attrs={"rows": 8}))
    industry = forms.ChoiceField(label=_("Industry"), choices=[("", "—"), *Industry.choices], required=False)
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=UNITS.filter(kind__in=["company", "branch", "station"]),
        required=False,
        empty_label="—",
    )
    prospect = forms.ModelChoiceField(
        label=_("Prospect"), queryset=Prospect.objects.all(), required=False, empty_label="—"
    )
    written_on = forms.DateField(label=_("Report date"), widget=DATE)
    documents = MultipleFileField(
        label=_("Attachments (PDF, Word, Excel)"),
        required=False,
        help_text=_("Up to 20 MB each."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["prospect"]
        if self.user is not None:  # one's own prospects (managers: those of their scope) — 客户信息保密
            from gridcare.keyaccounts.selectors import visible_prospects

            field.queryset = visible_prospects(self.user).order_by("name")
        field.label_from_instance = lambda p: f"{p.number} {p.name}"


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Attachment (PDF, Word, Excel)"))


class SurveyForm(ScopedForm):
    """新建满意度调查 — one question per line: ``评分|问题``, ``单选|问题|选项1,选项2``, ``文字|问题``."""

    routing_fields = {"unit": ORG_NAME, "interview_unit": ORG_NAME}

    title = forms.CharField(label=_("Title"), max_length=120)
    period_start = forms.DateField(label=_("Period from"), widget=DATE)
    period_end = forms.DateField(label=_("Period to"), widget=DATE)
    unit = forms.ModelChoiceField(label=_("Customers of"), queryset=UNITS, empty_label=CHOOSE)
    interview_unit = forms.ModelChoiceField(label=_("Interviewing team"), queryset=UNITS, empty_label=CHOOSE)
    sample_size = forms.IntegerField(
        label=_("Sample size"), min_value=1, required=False, help_text=_("Empty: the default setting.")
    )
    exclude_days = forms.IntegerField(
        label=_("Not again within (days)"),
        min_value=0,
        max_value=3650,
        required=False,
        help_text=_("Customers sampled by another survey within these days are not drawn."),
    )
    seed = forms.IntegerField(
        label=_("Random seed"),
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        help_text=_("Empty: chosen at random and kept, so the sample can be drawn again identically."),
    )
    questions = forms.CharField(
        label=_("Questions"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "One per line: 评分|question (1–5), 单选|question|choice 1,choice 2, 文字|question (free text)."
        ),
    )

    KINDS = {
        "评分": "rating",
        "rating": "rating",
        "单选": "choice",
        "choice": "choice",
        "文字": "text",
        "text": "text",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("unit", "interview_unit"):
            field: Any = self.fields[name]
            field.label_from_instance = lambda u: f"{u.name}（{u.code}）"

    def clean_questions(self) -> list[dict[str, Any]]:
        parsed = []
        for number, line in enumerate(self.cleaned_data["questions"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.replace("｜", "|").split("|")]
            kind = self.KINDS.get(parts[0].lower())
            if kind is None or len(parts) < 2:
                raise forms.ValidationError(
                    f"第 {number} 行应以「评分|」「单选|」或「文字|」开头。 (Line {number}: start with a kind.)"
                )
            parsed.append({"kind": kind, "text": parts[1], "choices": parts[2] if len(parts) > 2 else []})
        return parsed


class InterviewForm(forms.Form):
    """电话访问录入 — the outcome, then one field per question (asked only when reached)."""

    status = forms.ChoiceField(
        label=_("Call outcome"),
        choices=[(v, label) for v, label in SampleEntry.Status.choices if v != SampleEntry.Status.PENDING],
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, questions: list[Question] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions or []
        for q in self.questions:
            name = f"q{q.pk}"
            label = f"{q.position}. {q.text}"
            if q.kind == Question.Kind.RATING:
                self.fields[name] = forms.ChoiceField(
                    label=label,
                    choices=[("", "—"), *[(str(i), f"{i} 分") for i in range(5, 0, -1)]],
                    required=False,
                )
            elif q.kind == Question.Kind.CHOICE:
                self.fields[name] = forms.ChoiceField(
                    label=label, choices=[("", "—"), *[(c, c) for c in q.choices]], required=False
                )
            else:
                self.fields[name] = forms.CharField(
                    label=label, required=False, widget=forms.Textarea(attrs={"rows": 2})
                )

    def answers(self) -> dict[str, Any]:
        found = {str(q.pk): self.cleaned_data.get(f"q{q.pk}") for q in self.questions}
        return {k: v for k, v in found.items() if v not in (None, "")}


class ContractorForm(forms.Form):
    name = forms.CharField(label=_("Unit name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", CHOOSE), *ContractorKind.choices])
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=30)
    contact_name = forms.CharField(label=_("Contact person"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


class QualificationForm(forms.Form):
    qualification_type = forms.ChoiceField(
        label=_("Qualification type"), choices=[("", CHOOSE), *QualificationType.choices]
    )
    grade = forms.ChoiceField(label=_("Grade"), choices=[("", CHOOSE), *Grade.choices])
    certificate_no = forms.CharField(label=_("Certificate number"), max_length=40)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    valid_to = forms.DateField(label=_("Valid to"), widget=DATE)


class PerformanceForm(forms.Form):
    """A rating or a complaint (a project is given through 选用, which checks the qualification)."""

    kind = forms.ChoiceField(
        label=_("Record type"),
        choices=[
            (v, label) for v, label in PerformanceRecord.Kind.choices if v != PerformanceRecord.Kind.PROJECT
        ],
    )
    project = forms.CharField(label=_("Project"), max_length=120)
    happened_on = forms.DateField(label=_("Date"), widget=DATE)
    rating = forms.TypedChoiceField(
        label=_("Rating (1–5)"),
        choices=[("", "—"), *[(str(i), str(i)) for i in range(5, 0, -1)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class SelectableContractorField(forms.ModelChoiceField):
    """Pick a construction or design unit of ``kind``: every unit of the kind is listed with its qualification
    status, and one whose qualification is not valid on the form's date (``date_field``, today without one) is
    refused with the reason — 资质过期的单位不能选用."""

    def __init__(self, kind: str, *, date_field: str | None = None, **kwargs: Any) -> None:
        self.kind = kind
        self.date_field = date_field
        kwargs.setdefault("empty_label", CHOOSE)
        super().__init__(queryset=Contractor.objects.filter(kind=kind).order_by("name"), **kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if isinstance(value, Contractor) and self.date_field is None:  # with a date field: the form checks
            try:
                check_selectable(value, self.kind, timezone.localdate())
            except InvalidInput as refusal:
                raise forms.ValidationError(refusal.errors.get("contractor", [])) from None

    def label_from_instance(self, obj: Any) -> str:
        words = {
            "valid": "",
            "expiring": "（资质即将到期）",
            "expired": "（资质已过期）",
            "none": "（无资质）",
        }
        return f"{obj.name}{words[contractor_status(obj)]}"


class ProjectAssignForm(ScopedForm):
    """选用施工/设计单位 — give a project to a unit; an expired qualification is refused with the reason."""

    kind: str = ContractorKind.CONSTRUCTION
    project = forms.CharField(label=_("Project"), max_length=120)
    happened_on = forms.DateField(label=_("Date"), widget=DATE)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def __init__(self, *args: Any, kind: str = ContractorKind.CONSTRUCTION, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields = {
            "contractor": SelectableContractorField(kind, date_field="happened_on", label=_("Contractor")),
            **self.fields,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        contractor = data.get("contractor")
        day = data.get("happened_on") or timezone.localdate()
        if isinstance(contractor, Contractor) and isinstance(day, dt.date):
            try:
                check_selectable(contractor, self.kind, day)
            except InvalidInput as refusal:
                for message in refusal.errors.get("contractor", []):
                    self.add_error("contractor", message)
        return data
