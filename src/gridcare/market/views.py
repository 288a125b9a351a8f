"""Market screens: research reports (list and search, write, detail with documents), satisfaction surveys
(list, create, detail with results by unit, sample and interviews, Excel export) and the contractor register
(list with status badges, detail, certificates, records, selecting a unit for a project)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.core.access import get_in_scope, has_perm, restrict
from gridcare.core.errors import GridcareError, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.market import actions
from gridcare.market.filters import ContractorFilter, ReportFilter, SampleFilter, SurveyFilter
from gridcare.market.forms import (
    AttachmentForm,
    ContractorForm,
    InterviewForm,
    PerformanceForm,
    ProjectAssignForm,
    QualificationForm,
    ReportForm,
    SurveyForm,
)
from gridcare.market.models import (
    Contractor,
    ContractorKind,
    ReportAttachment,
    ResearchReport,
    SampleEntry,
    Survey,
)
from gridcare.market.selectors import (
    READ_REPORTS,
    contractor_status,
    open_attachment,
    report_in_scope,
    survey_results,
    visible_reports,
)
from gridcare.web.excel import ReportColumn, ReportSheet, report_response
from gridcare.web.flags import Flag
from gridcare.web.views import ActionFormView, Column, ScopedListView, StaffMixin, apply_error

SURVEY_READ = ("survey.manage", "survey.interview")
CONTRACTOR_READ = ("contractor.view", "contractor.manage")


# ------------------------------------------------------------------------------------------- research reports


class ReportListView(ScopedListView):
    """市场调研报告 — search title, summary and body; filter by industry, region, prospect, author and date."""

    model = ResearchReport
    permission = READ_REPORTS
    filterset_class = ReportFilter
    title = _("Market research reports")
    export_name = "research-reports"
    create_url_name = "market:report-create"
    create_permission = "research.write"
    columns = [
        Column(_("Report number"), "number", link=True),
        Column(_("Title"), "title"),
        Column(_("Industry"), "get_industry_display"),
        Column(_("Region"), lambda r: r.region.name if r.region else None),
        Column(_("Prospect"), lambda r: r.prospect.name if r.prospect else None),
        Column(_("Author"), "author.display_name"),
        Column(_("Report date"), "written_on"),
    ]

    def base_queryset(self) -> Any:
        return visible_reports(self.request.user)


class ReportCreateView(ActionFormView):
    permission = "research.write"
    form_class = ReportForm
    title = _("Write a market research report")
    success_message = _("Report saved.")

    def get_initial(self) -> dict[str, Any]:
        return {"written_on": timezone.localdate(), "prospect": self.request.GET.get("prospect")}

    def context(self, form: forms.Form) -> dict[str, Any]:
        return {"form": form, "title": self.title, "multipart": True}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ReportForm(request.POST, request.FILES, user=self.request.user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            files = [(f.name, f.read()) for f in data.pop("documents") or []]
            try:
                report = actions.do_write_report(self.request.user, files=files, **data)
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(request, self.success_message)
                return HttpResponseRedirect(report.get_absolute_url())
        return render(request, self.template_name, self.context(form), status=400)


class ReportDetailView(StaffMixin, TemplateView):
    """One report (404 when it is on a prospect the user does not see), its documents, and adding one."""

    request: StaffHttpRequest
    template_name = "market/report_detail.html"
    permission = READ_REPORTS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        try:
            report = report_in_scope(self.request.user, self.kwargs["pk"])
        except NotFound:
            raise Http404(_("Not found or outside your data scope.")) from None
        return super().get_context_data(
            object=report,
            title=str(report),
            attachments=list(report.attachments.all()),
            upload=AttachmentForm() if has_perm(self.request.user, "research.write") else None,
            **kwargs,
        )


class AttachmentAddView(StaffMixin, View):
    request: StaffHttpRequest
    permission = "research.write"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                actions.do_add_attachment(self.request.user, pk, name=upload.name, content=upload.read())
            except NotFound:
                raise Http404 from None
            except GridcareError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Attachment added."))
        else:
            messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return HttpResponseRedirect(reverse("market:report-detail", args=[pk]))


class AttachmentDownloadView(StaffMixin, View):
    """The document itself, only to those who may read its report."""

    request: StaffHttpRequest
    permission = READ_REPORTS

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        found = (
            ReportAttachment.objects.filter(pk=pk, report__in=visible_reports(self.request.user).values("pk"))
            .select_related("report")
            .first()
        )
        if found is None:
            raise Http404(_("Not found or outside your data scope."))
        try:
            stored = open_attachment(found)
        except NotFound as missing:
            raise Http404(missing.message) from None
        return FileResponse(stored, as_attachment=True, filename=found.name, content_type=found.content_type)


# ------------------------------------------------------------------------------------------------ surveys


class SurveyListView(ScopedListView):
    model = Survey
    permission = SURVEY_READ
    filterset_class = SurveyFilter
    title = _("Satisfaction surveys")
    export_name = "surveys"
    create_url_name = "market:survey-create"
    create_permission = "survey.manage"
    columns = [
        Column(_("Survey number"), "number", link=True),
        Column(_("Title"), "title"),
        Column(_("Period from"), "period_start"),
        Column(_("Period to"), "period_end"),
        Column(_("Customers of"), "unit.name"),
        Column(_("Sample size"), "sample_size", unit="户"),
        Column(_("Status"), "get_status_display"),
    ]

    def base_queryset(self) -> Any:
        return Survey.objects.select_related("unit")


class SurveyCreateView(ActionFormView):
    permission = "survey.manage"
    form_class = SurveyForm
    title = _("New satisfaction survey")
    success_message = _("Survey created. Draw the sample next.")

    def get_initial(self) -> dict[str, Any]:
        today = timezone.localdate()
        return {
            "period_start": today,
            "period_end": today + dt.timedelta(days=30),
            "questions": "评分|您对供电可靠性的满意程度\n评分|您对营业厅及热线服务的满意程度\n"
            "单选|您最常用的缴费方式|网上国网,银行代扣,营业厅,其他\n文字|您的意见和建议",
        }

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_create_survey(self.request.user, **{k: v for k, v in data.items() if v is not None})


def _survey(request: StaffHttpRequest, pk: int, *, write: bool = False) -> Survey:
    try:
        return get_in_scope(
            Survey.objects.select_related("unit", "interview_unit"), request.user, write=write, pk=pk
        )
    except NotFound:
        raise Http404(_("Not found or outside your data scope.")) from None


class SurveyDetailView(StaffMixin, TemplateView):
    """One survey: questions, the sample's progress and the results by unit and by question."""

    request: StaffHttpRequest
    template_name = "market/survey_detail.html"
    permission = SURVEY_READ

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        survey = _survey(self.request, self.kwargs["pk"])
        results = survey_results(survey)
        charts = [
            {
                "id": f"q{q.question.pk}",
                "labels": [d[0] for d in q.distribution],
                "counts": [d[1] for d in q.distribution],
            }
            for q in results.questions
            if q.distribution
        ]
        rating_questions = [q.question for q in results.questions if q.question.kind == "rating"]
        return super().get_context_data(
            object=survey,
            title=str(survey),
            results=results,
            rating_questions=rating_questions,
            charts=charts,
            can_manage=has_perm(self.request.user, "survey.manage"),
            **kwargs,
        )


class SurveyDrawView(StaffMixin, View):
    request: StaffHttpRequest
    permission = "survey.manage"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = _survey(self.request, pk, write=True)
        try:
            drawn = actions.do_draw_sample(self.request.user, survey)
        except GridcareError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(count)s customers drawn.") % {"count": drawn.sample.count()})
        return HttpResponseRedirect(reverse("market:survey-detail", args=[pk]))


class SurveyCloseView(StaffMixin, View):
    request: StaffHttpRequest
    permission = "survey.manage"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = _survey(self.request, pk, write=True)
        try:
            actions.do_close_survey(self.request.user, survey)
        except GridcareError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Survey closed."))
        return HttpResponseRedirect(reverse("market:survey-detail", args=[pk]))


class SurveyExportView(StaffMixin, View):
    """The results as an Excel workbook: by unit, by question (distribution), and every answer."""

    request: StaffHttpRequest
    permission = SURVEY_READ

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        survey = _survey(self.request, pk)
        results = survey_results(survey)
        ratings = [q.question for q in results.questions if q.question.kind == "rating"]
        unit_columns = [
            ReportColumn(str(_("Supply unit")), width=16),
            ReportColumn(str(_("Customers in scope")), "#,##0"),
            ReportColumn(str(_("Sampled")), "#,##0"),
            ReportColumn(str(_("Reached by phone")), "#,##0"),
            ReportColumn(str(_("Refused")), "#,##0"),
            ReportColumn(str(_("Unreachable")), "#,##0"),
            ReportColumn(str(_("Response rate (%)")), "0.0"),
            ReportColumn(str(_("Coverage (%)")), "0.0"),
            *[ReportColumn(f"{q.position}. {q.text}"[:40], "0.00", width=18) for q in ratings],
        ]

        def row(u: Any) -> list[Any]:
            return [
                u.unit_name,
                u.in_scope,
                u.sampled,
                u.reached,
                u.refused,
                u.unreachable,
                u.response_rate,
                u.coverage,
                *u.averages,
            ]

        question_rows = []
        for q in results.questions:
            for label, count in q.distribution:
                question_rows.append([f"{q.question.position}. {q.question.text}", label, count, q.average])
            for text in q.texts:
                question_rows.append([f"{q.question.position}. {q.question.text}", text, None, None])
        answers = []
        entries = survey.sample.exclude(status=SampleEntry.Status.PENDING).select_related(
            "account", "unit", "interviewer"
        )
        for entry in entries.prefetch_related("answers__question"):
            by_q = {a.question_id: a.rating or a.choice or a.text for a in entry.answers.all()}
            answers.append(
                [
                    entry.account.number,
                    entry.account.name,
                    entry.unit.name,
                    entry.get_status_display(),
                    entry.interviewer.display_name if entry.interviewer else None,
                    *[by_q.get(q.question.pk) for q in results.questions],
                ]
            )
        sheets = [
            ReportSheet(
                str(_("By unit")),
                unit_columns,
                [row(u) for u in results.units],
                caption=f"{survey.number} {survey.title}（{survey.period_start} – {survey.period_end}）",
                totals=row(results.total),
            ),
            ReportSheet(
                str(_("By question")),
                [
                    ReportColumn(str(_("Question")), width=40),
                    ReportColumn(str(_("Answer")), width=30),
                    ReportColumn(str(_("Count")), "#,##0"),
                    ReportColumn(str(_("Average score")), "0.00"),
                ],
                question_rows,
            ),
            ReportSheet(
                str(_("Answers")),
                [
                    ReportColumn(str(_("Account number")), width=14),
                    ReportColumn(str(_("Account name")), width=24),
                    ReportColumn(str(_("Supply unit")), width=14),
                    ReportColumn(str(_("Call outcome")), width=10),
                    ReportColumn(str(_("Interviewer")), width=10),
                    *[
                        ReportColumn(f"{q.question.position}. {q.question.text}"[:40], width=18)
                        for q in results.questions
                    ],
                ],
                answers,
            ),
        ]
        return report_response(f"{survey.title}调查结果", f"survey-{survey.number}", sheets)


class SampleListView(ScopedListView):
    """抽样客户 — the customers to call, with the outcome; 录入 opens the interview form."""

    model = SampleEntry
    permission = SURVEY_READ
    filterset_class = SampleFilter
    title = _("Sampled customers")
    export_name = "survey-sample"
    columns = [
        Column(_("Survey number"), "survey.number"),
        Column(_("Account number"), "account.number", link=True),
        Column(_("Account name"), "account.name"),
        Column(_("Supply unit"), "unit.name"),
        Column(_("Customer class"), "customer_class"),
        Column(_("Call outcome"), "get_status_display"),
        Column(_("Interviewer"), lambda e: e.interviewer.display_name if e.interviewer else None),
        Column(_("Called at"), "contacted_at"),
    ]

    def base_queryset(self) -> Any:
        return SampleEntry.objects.select_related("survey", "account", "unit", "interviewer")


class SamplePhoneView(StaffMixin, View):
    """显示号码 (POST, audited): the sampled customer's numbers are shown once on the interview page, to dial."""

    request: StaffHttpRequest
    permission = "survey.interview"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            phone = actions.do_view_sample_phone(self.request.user, pk)
        except NotFound:
            raise Http404(_("Not found or outside your data scope.")) from None
        except GridcareError as error:
            messages.error(request, error.message)
        else:
            request.session[f"sample-phone-{pk}"] = phone["contacts"]
        return HttpResponseRedirect(reverse("market:interview", args=[pk]))


class InterviewView(ActionFormView):
    """电话访问录入 — the outcome of the call and, when reached, the answers."""

    permission = "survey.interview"
    form_class = InterviewForm
    _form: InterviewForm
    title = _("Record the interview")
    success_message = _("Interview recorded.")

    def entry(self) -> SampleEntry:
        found = (
            restrict(
                SampleEntry.objects.select_related("survey", "account", "unit"), self.request.user, write=True
            )
            .filter(pk=self.kwargs["pk"])
            .first()
        )
        if found is None:
            raise Http404(_("Not found or outside your data scope."))
        return found

    def get_form(self, data: Any = None) -> forms.Form:
        entry = self.entry()
        questions = list(entry.survey.questions.order_by("position"))
        initial: dict[str, Any] = {
            "status": entry.status if entry.status != "pending" else "reached",
            "note": entry.note,
        }
        for answer in entry.answers.all():
            initial[f"q{answer.question_id}"] = answer.rating or answer.choice or answer.text
        return InterviewForm(data, initial=initial, questions=questions)

    template_name = "market/interview.html"

    def context(self, form: forms.Form) -> dict[str, Any]:
        entry = self.entry()
        facts = [
            (_("Survey"), str(entry.survey)),
            (_("Account"), f"{entry.account.number} {entry.account.name}"),
            (_("Supply unit"), entry.unit.name),
            (_("Call outcome"), entry.get_status_display()),
        ]
        phone = self.request.session.pop(f"sample-phone-{entry.pk}", None)
        return {
            "form": form,
            "title": self.title,
            "facts": facts,
            "entry": entry,
            "phone": phone,
            "can_call": entry.survey.status == "sampled",
        }

    def perform(self, data: dict[str, Any]) -> Any:
        form = self._form
        return actions.do_record_interview(
            self.request.user,
            self.kwargs["pk"],
            status=data["status"],
            answers=form.answers() if data["status"] == "reached" else None,
            note=data.get("note", ""),
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        built = self.get_form(request.POST)
        assert isinstance(built, InterviewForm)
        self._form = form = built
        if form.is_valid():
            try:
                entry = self.perform(form.cleaned_data)
            except NotFound:
                raise Http404 from None
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(request, self.success_message)
                return HttpResponseRedirect(
                    reverse("market:sample-list") + f"?survey={entry.survey_id}&status=pending"
                )
        return render(request, self.template_name, self.context(form), status=400)


# -------------------------------------------------------------------------------------------- contractors

STATUS_FLAGS = {
    "valid": (_("Qualified"), "success"),
    "expiring": (_("Expiring soon"), "warning"),
    "expired": (_("Expired"), "danger"),
    "none": (_("No qualification"), "secondary"),
}


def status_flag(contractor: Contractor) -> Flag:
    text, tone = STATUS_FLAGS[contractor_status(contractor)]
    return Flag(str(text), tone)


def latest_valid_to(contractor: Contractor) -> Any:
    dates = [q.valid_to for q in contractor.qualifications.all()]
    return max(dates) if dates else None


class ContractorListView(ScopedListView):
    """施工/设计单位资质库 — with a badge per unit: qualified, expiring soon, expired."""

    model = Contractor
    permission = CONTRACTOR_READ
    filterset_class = ContractorFilter
    title = _("Contractor register")
    export_name = "contractors"
    create_url_name = "market:contractor-create"
    create_permission = "contractor.manage"
    template_name = "market/contractor_list.html"
    columns = [
        Column(_("Unit name"), "name", link=True),
        Column(_("Status"), status_flag),
        Column(_("Valid to"), latest_valid_to),
        Column(_("Kind"), "get_kind_display"),
        Column(_("Qualification"), lambda c: "；".join(str(q) for q in c.qualifications.all()) or None),
        Column(_("Unified social credit code"), "credit_code"),
        Column(_("Projects"), lambda c: sum(1 for r in c.records.all() if r.kind == "project"), unit="项"),
        Column(
            _("Complaints"), lambda c: sum(1 for r in c.records.all() if r.kind == "complaint"), unit="次"
        ),
    ]

    def base_queryset(self) -> Any:
        return Contractor.objects.prefetch_related("qualifications", "records")


class ContractorCreateView(ActionFormView):
    permission = "contractor.manage"
    form_class = ContractorForm
    title = _("Register a contractor")
    success_message = _("Contractor registered.")

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_register_contractor(self.request.user, **data)


def _contractor(pk: int) -> Contractor:
    found = Contractor.objects.filter(pk=pk).first()
    if found is None:
        raise Http404(_("Not found or outside your data scope."))
    return found


class ContractorDetailView(StaffMixin, TemplateView):
    request: StaffHttpRequest
    template_name = "market/contractor_detail.html"
    permission = CONTRACTOR_READ

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        contractor = _contractor(self.kwargs["pk"])
        today = timezone.localdate()
        records = list(contractor.records.select_related("recorded_by", "qualification"))
        ratings = [r.rating for r in records if r.rating]
        return super().get_context_data(
            object=contractor,
            title=str(contractor),
            flag=status_flag(contractor),
            qualifications=[
                (q, q.valid_on(today), q.valid_to < today) for q in contractor.qualifications.all()
            ],
            records=records,
            average_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
            can_manage=has_perm(self.request.user, "contractor.manage"),
            **kwargs,
        )


class QualificationAddView(ActionFormView):
    permission = "contractor.manage"
    form_class = QualificationForm
    title = _("Add a qualification")
    success_message = _("Qualification recorded.")

    def context(self, form: forms.Form) -> dict[str, Any]:
        contractor = _contractor(self.kwargs["pk"])
        return {"form": form, "title": self.title, "facts": [(_("Contractor"), str(contractor))]}

    def perform(self, data: dict[str, Any]) -> Any:
        _contractor(self.kwargs["pk"])
        return actions.do_add_qualification(self.request.user, self.kwargs["pk"], **data)

    def success_url(self, result: Any) -> str:
        return reverse("market:contractor-detail", args=[self.kwargs["pk"]])


class PerformanceAddView(ActionFormView):
    permission = "contractor.manage"
    form_class = PerformanceForm
    title = _("Record a rating or complaint")
    success_message = _("Record saved.")

    def get_initial(self) -> dict[str, Any]:
        return {"happened_on": timezone.localdate()}

    def context(self, form: forms.Form) -> dict[str, Any]:
        contractor = _contractor(self.kwargs["pk"])
        return {"form": form, "title": self.title, "facts": [(_("Contractor"), str(contractor))]}

    def perform(self, data: dict[str, Any]) -> Any:
        _contractor(self.kwargs["pk"])
        return actions.do_record_performance(self.request.user, self.kwargs["pk"], **data)

    def success_url(self, result: Any) -> str:
        return reverse("market:contractor-detail", args=[self.kwargs["pk"]])


class ProjectAssignView(ActionFormView):
    """选用施工/设计单位 — a unit whose qualification is expired on the project's date cannot be chosen."""

    permission = "contractor.manage"
    form_class = ProjectAssignForm
    success_message = _("Project given to the unit.")

    @property
    def kind(self) -> str:
        kind = (
            self.request.GET.get("kind")
            or self.request.POST.get("kind_of_unit")
            or ContractorKind.CONSTRUCTION
        )
        return kind if kind in ContractorKind.values else ContractorKind.CONSTRUCTION

    @property
    def title(self) -> Any:  # type: ignore[override]
        return (
            _("Select a design unit")
            if self.kind == ContractorKind.DESIGN
            else _("Select a construction unit")
        )

    def get_initial(self) -> dict[str, Any]:
        return {"happened_on": timezone.localdate(), "contractor": self.request.GET.get("contractor")}

    def get_form(self, data: Any = None) -> forms.Form:
        return ProjectAssignForm(data, initial=self.get_initial(), user=self.request.user, kind=self.kind)

    def context(self, form: forms.Form) -> dict[str, Any]:
        other = (
            ContractorKind.DESIGN if self.kind == ContractorKind.CONSTRUCTION else ContractorKind.CONSTRUCTION
        )
        return {
            "form": form,
            "title": self.title,
            "facts": [(_("Kind"), ContractorKind(self.kind).label)],
            "hidden": {"kind_of_unit": self.kind},
            "switch_url": reverse("market:contractor-assign") + f"?kind={other}",
            "switch_label": ContractorKind(other).label,
        }

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_record_performance(
            self.request.user,
            data["contractor"],
            kind="project",
            project=data["project"],
            happened_on=data["happened_on"],
            description=data.get("description", ""),
        )

    def success_url(self, result: Any) -> str:
        return reverse("market:contractor-detail", args=[result.contractor_id])
