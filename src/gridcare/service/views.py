"""Staff screens of the service desk: queues by position, intake, the order page with its steps, the
supervisor dashboard (ECharts), monthly reports and SLA policies — built on the shared list/detail/form patterns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, InvalidInput, NotFound
from gridcare.customers.masking import can_unmask, mask_mobile
from gridcare.service import actions, intake, reports
from gridcare.service.choices import PAUSED_STATUSES, Transition, allowed_transitions
from gridcare.service.filters import SLAPolicyFilter, StockItemFilter, WorkOrderFilter
from gridcare.service.forms import (
    CallbackForm,
    CompensationForm,
    DecisionForm,
    FeeForm,
    IntakeForm,
    MonthForm,
    PolicyForm,
    ReasonForm,
    RepairRecordForm,
    ReplyForm,
    StockForm,
    TargetForm,
)
from gridcare.service.models import Compensation, SLAPolicy, StockItem, WorkOrder
from gridcare.service.selectors import REPORTS, dashboard, previous_month, queue, queues_for, unread_notices
from gridcare.web.display import field_display
from gridcare.web.excel import attachment
from gridcare.web.flags import Flag, duration_words
from gridcare.web.views import ActionFormView, Column, ScopedDetailView, ScopedListView, StaffMixin

QUEUE_TITLES = {
    "my": _("My work orders"),
    "team": _("Team queue"),
    "near": _("Near breach"),
    "overdue": _("Overdue"),
    "all": _("All work orders"),
}


#: How the SLA state stored on an order reads on screen and in exports.
def sla_reading(order: WorkOrder, now: Any = None) -> Flag | Any:
    """The SLA column, by the same rules as the near-breach and overdue queues (``service.sla``): an open,
    running order past its deadline is overdue by so long (red), past its warning moment has so long left
    (amber), otherwise so long left; a paused clock says so; a closed order keeps its final state."""
    now = now or timezone.now()
    if not order.is_open or order.due_at is None:
        return field_display(order, "sla_state")  # the SLAState label, or a dash
    if order.status in PAUSED_STATUSES:
        return Flag(str(_("Clock paused")), "secondary")
    if order.due_at <= now:
        return Flag(
            str(_("Overdue by %(duration)s")) % {"duration": duration_words(now - order.due_at)}, "danger"
        )
    left = str(_("%(duration)s left")) % {"duration": duration_words(order.due_at - now)}
    near = order.warn_at is not None and order.warn_at <= now
    return Flag(left, "warning" if near else "success")


class DeskMixin(StaffMixin):
    """Open to the positions that read work orders (``workorder.view``); each step checks its own code."""

    permission = "workorder.view"


class DeskView(DeskMixin, ScopedListView):
    """工单台 — one tab per queue: mine, my team's, near breach, overdue, all (filters and Excel on each)."""

    template_name = "service/desk.html"
    model = WorkOrder
    filterset_class = WorkOrderFilter
    export_name = "work-orders"
    create_url_name = "service:order-create"
    create_permission = "workorder.create"
    queue_name = "my"
    columns = [
        Column(_("Number"), "number"),
        Column(_("Type"), "get_order_type_display"),
        Column(_("Sub-type"), "get_sub_type_display"),
        Column(_("Status"), "get_status_display"),
        Column(_("Subject"), "title"),
        Column(_("Customer"), "customer.name"),
        Column(_("Responsible unit"), "unit.name"),
        Column(_("Handling unit"), "queue_unit.name"),
        Column(_("Assignee"), "assignee.display_name"),
        Column(_("Accepted at"), "created_at"),
        Column(_("Next deadline"), "due_at"),
        Column(_("SLA"), sla_reading),
    ]

    @property
    def title(self) -> Any:  # type: ignore[override]
        return QUEUE_TITLES[self.queue_name]

    def base_queryset(self):
        return queue(self.request.user, self.queue_name)

    def get_filtered(self):
        queryset = self.base_queryset()  # already scoped by the selector
        filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
        if filterset.is_bound and not filterset.is_valid():
            return filterset, queryset.none()
        return filterset, filterset.qs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["tabs"] = [(name, QUEUE_TITLES[name], f"service:{name}-queue") for name in queues_for(user)]
        context["current"] = self.queue_name
        context["notices"] = unread_notices(user)
        context["now"] = timezone.now()
        return context


class OrderDetailView(DeskMixin, ScopedDetailView):
    model = WorkOrder
    template_name = "service/order_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order: WorkOrder = context["object"]
        user = self.request.user
        steps = [s for s in allowed_transitions(order.status) if s in STEPS]
        context.update(
            contact_phone=order.contact_phone if can_unmask(user) else mask_mobile(order.contact_phone),
            transitions=order.transitions.select_related("actor"),
            clocks=order.clocks.all(),
            callbacks=order.callbacks.select_related("by"),
            repair_records=order.repair_records.select_related("technician"),
            movements=order.stock_movements.select_related("item", "technician"),
            fees=order.fees.select_related("recorded_by"),
            compensations=order.compensations.select_related("proposed_by", "decided_by"),
            compensation_form=CompensationForm(user=user)
            if order.account_id and has_perm(user, "workorder.create")
            else None,
            can_decide_compensation=has_perm(user, "compensation.approve"),
            duplicates=order.duplicates.all()[:50],
            steps=[_step(s, user) for s in steps],
            field_forms={
                "repair": RepairRecordForm(user=user),
                "stock": StockForm(user=user),
                "fee": FeeForm(user=user),
            }
            if order.is_open and (has_perm(user, "workorder.process") or has_perm(user, "workorder.reassign"))
            else {},
            now=timezone.now(),
        )
        return context


# step → (label, form class) ; the form's cleaned data are the action's keyword arguments
def _step(code: str, user: Any) -> tuple[str, Any, Any]:
    """A step's code, label and (empty) form, if it takes one (its choices limited to what ``user`` may see)."""
    label, form = STEPS[code]
    return code, label, form(user=user) if form is not None else None


STEPS: dict[str, tuple[Any, Callable[..., Any] | None]] = {
    Transition.DISPATCH: (Transition.DISPATCH.label, TargetForm),
    Transition.REASSIGN: (Transition.REASSIGN.label, TargetForm),
    Transition.ESCALATE: (Transition.ESCALATE.label, ReasonForm),
    Transition.TAKE: (Transition.TAKE.label, None),
    Transition.START: (Transition.START.label, None),
    Transition.ARRIVE: (Transition.ARRIVE.label, None),
    Transition.RESTORE: (Transition.RESTORE.label, None),
    Transition.CONTACT: (Transition.CONTACT.label, None),
    Transition.SUSPEND: (Transition.SUSPEND.label, ReasonForm),
    Transition.WAIT_CUSTOMER: (Transition.WAIT_CUSTOMER.label, ReasonForm),
    Transition.RESUME: (Transition.RESUME.label, None),
    Transition.REPLY: (Transition.REPLY.label, ReplyForm),
    Transition.CALLBACK: (Transition.CALLBACK.label, CallbackForm),
    Transition.ARCHIVE: (Transition.ARCHIVE.label, None),
    Transition.REOPEN: (Transition.REOPEN.label, ReasonForm),
}

STEP_ACTIONS: dict[str, Callable[..., Any]] = {
    Transition.DISPATCH: lambda u, o, d: actions.do_dispatch(
        u, o, queue_unit=d.get("queue_unit"), assignee=d.get("assignee"), note=d.get("reason", "")
    ),
    Transition.REASSIGN: lambda u, o, d: actions.do_reassign(
        u, o, queue_unit=d.get("queue_unit"), assignee=d.get("assignee"), reason=d.get("reason", "")
    ),
    Transition.ESCALATE: lambda u, o, d: actions.do_escalate(u, o, reason=d.get("reason", "")),
    Transition.TAKE: lambda u, o, d: actions.do_take(u, o),
    Transition.START: lambda u, o, d: actions.do_start(u, o),
    Transition.ARRIVE: lambda u, o, d: actions.do_arrive(u, o),
    Transition.RESTORE: lambda u, o, d: actions.do_restore(u, o),
    Transition.CONTACT: lambda u, o, d: actions.do_contact(u, o),
    Transition.SUSPEND: lambda u, o, d: actions.do_suspend(u, o, reason=d.get("reason", "")),
    Transition.WAIT_CUSTOMER: lambda u, o, d: actions.do_wait_customer(u, o, reason=d.get("reason", "")),
    Transition.RESUME: lambda u, o, d: actions.do_resume(u, o),
    Transition.REPLY: lambda u, o, d: actions.do_reply(
        u, o, result=d.get("result", ""), cause=d.get("cause", "")
    ),
    Transition.CALLBACK: lambda u, o, d: actions.do_callback(
        u,
        o,
        reached=d.get("reached", False),
        satisfaction=d.get("satisfaction") if d.get("reached") else None,
        reason=d.get("reason", ""),
        on_unsatisfied=d.get("on_unsatisfied", "reopen"),
    ),
    Transition.ARCHIVE: lambda u, o, d: actions.do_archive(u, o),
    Transition.REOPEN: lambda u, o, d: actions.do_reopen(u, o, reason=d.get("reason", "")),
    "repair": lambda u, o, d: actions.do_record_repair(u, o, **d),
    "issue": lambda u, o, d: actions.do_issue_stock(u, o, item=d["item"], quantity=d["quantity"]),
    "return": lambda u, o, d: actions.do_return_stock(u, o, item=d["item"], quantity=d["quantity"]),
    "fee": lambda u, o, d: actions.do_record_fee(u, o, description=d["description"], amount=d["amount"]),
    "compensate": lambda u, o, d: actions.do_propose_compensation(
        u, o, amount=d["amount"], reason=d["reason"]
    ),
}
STEP_FORMS: dict[str, Any] = {
    **{k: v[1] for k, v in STEPS.items()},
    "repair": RepairRecordForm,
    "issue": StockForm,
    "return": StockForm,
    "fee": FeeForm,
    "compensate": CompensationForm,
}


def run_on_order_page(request: HttpRequest, order_id: int | None, step: Callable[[], Any]) -> HttpResponse:
    """Run one action from the order page and go back to it: business errors come back as a message on the
    page, anything outside the person's scope is a 404."""
    try:
        step()
    except NotFound:
        raise Http404 from None
    except GridcareError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return HttpResponseRedirect(reverse("service:order-detail", args=[order_id]))


class StepView(DeskMixin, View):
    """POST one step from the order page; business errors come back as a message on the page."""

    def post(self, request: HttpRequest, pk: int, step: str) -> HttpResponse:
        if step not in STEP_ACTIONS:
            raise Http404
        form_class = STEP_FORMS.get(step)
        data: dict[str, Any] = {}
        if form_class is not None:
            form = form_class(request.POST, user=request.user)
            if not form.is_valid():
                for field, errors in form.errors.items():
                    messages.error(
                        request,
                        f"{form.fields[field].label if field in form.fields else ''} {' '.join(errors)}",
                    )
                return HttpResponseRedirect(reverse("service:order-detail", args=[pk]))
            data = form.cleaned_data
        return run_on_order_page(request, pk, lambda: STEP_ACTIONS[step](request.user, pk, data))


class CompensationDecisionView(DeskMixin, View):
    """Approve or reject a proposed compensation from the order page (limit and four-eyes checks in the action)."""

    DECISIONS: dict[str, Callable[..., Any]] = {
        "approve": actions.do_approve_compensation,
        "reject": actions.do_reject_compensation,
    }

    def post(self, request: HttpRequest, pk: int, decision: str) -> HttpResponse:
        decide = self.DECISIONS.get(decision)
        if decide is None:
            raise Http404
        form = DecisionForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        order_id = (
            restrict(Compensation.objects.filter(pk=pk), request.user)
            .values_list("order_id", flat=True)
            .first()
        )
        return run_on_order_page(request, order_id, lambda: decide(request.user, pk, note=note))


class IntakeView(ActionFormView):
    """受理 — phone or counter intake by the desk: the form on the left, the caller panel (来电客户) on the right."""

    permission = "workorder.create"
    form_class = IntakeForm
    template_name = "service/intake.html"
    title = _("Register a work order")
    success_message = _("Work order registered.")

    def context(self, form: Any) -> dict[str, Any]:
        context = super().context(form)
        picked = form["account"].value() if form.is_bound else None
        context["panel"] = (
            intake.caller_panel(self.request.user, picked, form["service_point"].value()) if picked else None
        )
        return context

    def perform(self, data: dict[str, Any]) -> WorkOrder:
        from gridcare.customers.models import Account, ServicePoint

        lookup = (data.pop("lookup") or "").strip()
        typed = lookup and not (data["account"] or data["service_point"])  # not picked from the suggestions
        if typed:
            user = self.request.user  # a number outside the desk's scope is "not found", like an unknown one
            point = (
                restrict(ServicePoint.objects.filter(number=lookup), user)
                .values_list("pk", flat=True)
                .first()
            )
            account = (
                restrict(Account.objects.filter(number=lookup), user).values_list("pk", flat=True).first()
            )
            if point is None and account is None:
                raise InvalidInput(
                    {"lookup": "未找到该户号或用电地址编号。 (No such account or service point.)"}
                )
            data["service_point"], data["account"] = point, account if point is None else None
        return actions.do_create_order(self.request.user, **data)


class IntakeSuggestView(StaffMixin, View):
    """The live suggestions under the intake search box (htmx): at most 10 callers in the desk's scope."""

    permission = "workorder.create"

    def get(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.get("lookup", "")[:60]
        found, only = intake.suggestions(request.user, query)
        return render(
            request,
            "service/intake_suggestions.html",
            {"suggestions": found, "only": only, "query": query.strip()},
        )


class IntakeCallerView(StaffMixin, View):
    """The caller panel beside the intake form (htmx): customer card, open orders, recent calls."""

    permission = "workorder.create"

    def get(self, request: HttpRequest) -> HttpResponse:
        panel = intake.caller_panel(
            request.user, request.GET.get("account"), request.GET.get("service_point")
        )
        return render(request, "service/intake_panel.html", {"panel": panel})


class DashboardView(StaffMixin, TemplateView):
    """服务监控 — supervisors: backlog, near breach, overdue, SLA compliance by month (ECharts)."""

    permission = "workorder.reassign"
    template_name = "service/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            data=dashboard(self.request.user), title=_("Service dashboard"), **kwargs
        )


class ReportsView(StaffMixin, TemplateView):
    """服务月报 — the three monthly reports of any month, as Excel or PDF."""

    permission = "report.view"
    template_name = "service/reports.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = MonthForm(self.request.GET or {"month": previous_month()})
        month = form.cleaned_data["month"] if form.is_valid() else previous_month()
        built = [reports.build(code, month) for code in REPORTS]
        return super().get_context_data(
            form=form, month=month, reports=built, title=_("Monthly service reports"), **kwargs
        )


class ReportDownloadView(StaffMixin, View):
    permission = "report.view"

    def get(self, request: HttpRequest, code: str, month: str, fmt: str) -> HttpResponse:
        if code not in REPORTS or fmt not in reports.FORMATS or not MonthForm({"month": month}).is_valid():
            raise Http404
        content_type = (
            "application/pdf"
            if fmt == "pdf"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        report = reports.build(code, month)
        content = reports.to_xlsx(report) if fmt == "xlsx" else reports.to_pdf(report)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = attachment(
            f"{report.title}_{month}.{fmt}", reports.filename(code, month, fmt)
        )
        return response


class PolicyListView(ScopedListView):
    model = SLAPolicy
    permission = "sla.view"
    filterset_class = SLAPolicyFilter
    title = _("SLA policies")
    export_name = "sla-policies"
    columns = [
        Column(_("Type"), "get_order_type_display"),
        Column(_("Sub-type"), "get_sub_type_display"),
        Column(_("Area class"), "get_area_class_display"),
        Column(_("Milestone"), "get_milestone_display"),
        Column(_("Clock"), "get_clock_display"),
        Column(_("Time limit"), "amount"),
        Column(_("Warning at"), "warn_ratio"),
        Column(_("Valid from"), "valid_from"),
        Column(_("Source"), "source"),
    ]


class PolicyEditView(ActionFormView):
    permission = "sla.manage"
    form_class = PolicyForm
    title = _("Edit SLA policy")

    def policy(self) -> SLAPolicy:
        return get_object_or_404(SLAPolicy, pk=self.kwargs["pk"])

    def get_initial(self) -> dict[str, Any]:
        policy = self.policy()
        return {"clock": policy.clock, "amount": policy.amount, "warn_ratio": policy.warn_ratio}

    def perform(self, data: dict[str, Any]) -> SLAPolicy:
        return actions.do_update_policy(self.request.user, self.policy(), **data)

    def success_url(self, result: Any) -> str:
        return reverse("service:policy-list")


class StockListView(ScopedListView):
    model = StockItem
    permission = "stock.view"
    filterset_class = StockItemFilter
    title = _("Spare parts and tools")
    export_name = "stock"
    columns = [
        Column(_("Code"), "code"),
        Column(_("Name"), "name"),
        Column(_("Kind"), "get_kind_display"),
        Column(_("On hand"), "quantity"),
        Column(_("Unit of measure"), "unit_of_measure"),
        Column(_("Unit price (元)"), "unit_price"),
        Column(_("Store"), "org_unit.name"),
    ]
