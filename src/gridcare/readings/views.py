"""Readings screens (lists declared, not written): routes, reading tasks in walking order, the exception queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views import View

from gridcare.core.access import get_in_scope
from gridcare.core.errors import InvalidInput, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.engine.vee import DEFAULT_PARAMS
from gridcare.readings import actions
from gridcare.readings.actions import capture_reads
from gridcare.readings.filters import ExceptionFilter, RouteFilter, TaskFilter
from gridcare.readings.forms import ApprovalForm, DecisionForm
from gridcare.readings.models import (
    Condition,
    MeterRead,
    ReadException,
    ReadingTask,
    Route,
    VeeRuleSetting,
    rule_label,
)
from gridcare.readings.periods import parse_period
from gridcare.readings.selectors import OPEN_TASKS, last_reads
from gridcare.web.views import ActionFormView, Column, ScopedListView, StaffMixin


class RouteListView(ScopedListView):
    """抄表段 — routes with their reader and reading day."""

    model = Route
    permission = "reading.view"
    filterset_class = RouteFilter
    title = _("Reading routes")
    export_name = "reading-routes"
    columns = [
        Column(_("Route number"), "number"),
        Column(_("Name"), "name"),
        Column(_("Unit"), "org_unit.name"),
        Column(_("Reader"), "reader.display_name"),
        Column(_("Reading day"), "reading_day"),
        Column(_("Frequency"), "get_frequency_display"),
        Column(_("Reading mode"), "get_mode_display"),
        Column(_("Active"), "active"),
    ]

    def base_queryset(self) -> Any:
        return Route.objects.select_related("org_unit", "reader")


class TaskListView(ScopedListView):
    """抄表任务 — a period's tasks in walking order (a reader sees their own routes)."""

    model = ReadingTask
    permission = "reading.view"
    filterset_class = TaskFilter
    title = _("Reading tasks")
    export_name = "reading-tasks"
    paginate_by = 50
    columns = [
        Column(_("Period"), "period"),
        Column(_("Route"), "route.number"),
        Column(_("Sequence"), "sequence"),
        Column(_("Status"), "get_status_display"),  # before the numbers: what a reader looks for on a phone
        Column(_("Service point"), "service_point.number"),
        Column(_("Meter"), "meter.asset_no"),
        Column(pgettext_lazy("meter reading", "Register"), "get_register_display"),
        Column(_("Due date"), "due_date"),
    ]

    def base_queryset(self) -> Any:
        return ReadingTask.objects.select_related("route", "service_point", "meter").order_by(
            "-period", "route__number", "sequence", "register"
        )


class ExceptionListView(ScopedListView):
    """抄表异常队列 — open VEE exceptions by route, reader and rule (decided through the API)."""

    model = ReadException
    permission = "reading.view"
    filterset_class = ExceptionFilter
    title = _("Reading exceptions")
    export_name = "reading-exceptions"
    columns = [
        Column(_("Period"), "period"),
        Column(_("Service point"), "service_point.number"),
        Column(pgettext_lazy("meter reading", "Rule"), "get_rule_display"),
        Column(_("Severity"), "get_severity_display"),
        Column(_("Message"), "get_message_display"),
        Column(_("Status"), "get_status_display"),
        Column(_("Reason"), "reason"),
    ]

    def base_queryset(self) -> Any:
        return ReadException.objects.select_related("service_point")


#: the unit a register's reading is in (the dial's unit): energy kWh, reactive kvarh, maximum demand kW
REGISTER_UNITS = {"reactive_total": "kvarh", "max_demand": "kW"}

#: parameter of a VEE rule → (what it is, its unit)
PARAM_LABELS = {
    "days": (_("days either side"), "天"),
    "pct": (_("change above"), "%"),
    "floor_kwh": (_("only above"), "kWh"),
    "cycles": (_("cycles"), "期"),
    "rollover_drop_pct": (_("a drop above this share of the register range is a rollover"), "%"),
    "tolerance_kwh": (_("tolerance"), "kWh"),
    "tolerance_permille": (_("tolerance"), "‰"),
    "factor_pct": (_("of the capacity"), "%"),
}


def describe_params(rule: VeeRuleSetting) -> str:
    """A rule's parameters in words with their units ("change above 30 %, only above 100 kWh")."""
    params = {**DEFAULT_PARAMS.get(rule.code, {}), **(rule.params or {})}
    parts = []
    for key, value in params.items():
        label, unit = PARAM_LABELS.get(key, (key, ""))
        parts.append(f"{label} {value} {unit}".strip())
    return "，".join(parts) or "—"


class VeeRuleListView(ScopedListView):
    """校核规则 — the VEE rules as the utility runs them: severity and parameters in words."""

    model = VeeRuleSetting
    permission = "reading.view"
    title = _("Validation rules")
    export_name = "vee-rules"
    columns = [
        Column(pgettext_lazy("meter reading", "Rule"), "get_code_display"),
        Column(_("Severity"), "get_severity_display"),
        Column(_("Parameters"), describe_params),
        Column(_("Enabled"), "enabled"),
    ]

    def base_queryset(self) -> Any:
        return VeeRuleSetting.objects.all()


class RouteReadingView(StaffMixin, View):
    """抄表录入 — the reader's route on a phone: the period's tasks in walking order with the previous reading and
    last consumption, a value and a meter condition per task; saved through the one capture path, with the result
    of every entry (accepted, rejected with the reason, exceptions raised) and the route's progress."""

    permission = "reading.enter"
    template_name = "readings/route_reading.html"
    request: StaffHttpRequest  # signed in: StaffMixin refused everyone else

    def _route(self, request: HttpRequest, pk: int) -> Route:
        try:
            return get_in_scope(Route.objects.select_related("org_unit"), request.user, write=True, pk=pk)
        except NotFound:
            raise Http404 from None

    def _page(self, request: HttpRequest, route: Route, period: str, results: dict[int, Any]) -> HttpResponse:
        tasks = list(
            ReadingTask.objects.filter(route=route, period=period)
            .select_related("meter", "service_point")
            .order_by("sequence", "meter__asset_no", "register")
        )
        last = last_reads([(t.meter_id, t.register) for t in tasks])
        done = sum(1 for t in tasks if t.status not in OPEN_TASKS)
        rows = [
            (
                t,
                last.get((t.meter_id, t.register)),
                results.get(t.pk),
                t.status in OPEN_TASKS,
                REGISTER_UNITS.get(t.register, "kWh"),
                [rule_label(code) for code in getattr(results.get(t.pk), "exceptions", [])],
            )
            for t in tasks
        ]
        context = {
            "route": route,
            "period": period,
            "rows": rows,
            "done": done,
            "total": len(tasks),
            "conditions": Condition.choices,
            "title": _("Read route %(number)s") % {"number": route.number},
        }
        return render(
            request,
            self.template_name,
            context,
            status=400 if any(r.status == "rejected" for r in results.values()) else 200,
        )

    def _period(self, request: HttpRequest) -> str:
        raw = request.GET.get("period") or request.POST.get("period") or f"{timezone.localdate():%Y-%m}"
        try:
            parse_period(raw)
        except InvalidInput:
            return f"{timezone.localdate():%Y-%m}"
        return raw

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._page(request, self._route(request, pk), self._period(request), {})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        route = self._route(request, pk)
        period = self._period(request)
        open_ids = set(
            ReadingTask.objects.filter(route=route, period=period, status__in=OPEN_TASKS).values_list(
                "pk", flat=True
            )
        )
        now = timezone.now()
        records: list[dict[str, Any]] = []
        task_ids: list[int] = []
        for task_id in sorted(open_ids):
            value = request.POST.get(f"value-{task_id}", "").strip()
            condition = request.POST.get(f"condition-{task_id}", Condition.NORMAL)
            if value or condition == Condition.NO_ACCESS:
                records.append({"task": task_id, "read_at": now, "value": value, "condition": condition})
                task_ids.append(task_id)
        if not records:
            messages.info(request, _("Nothing entered."))
            return self._page(request, route, period, {})
        results = capture_reads(self.request.user, records, source=MeterRead.Source.MANUAL)
        by_task: dict[int, Any] = {task_ids[r.index]: r for r in results}
        accepted = sum(1 for r in results if r.status == "accepted")
        messages.success(request, _("%(count)d readings saved.") % {"count": accepted})
        return self._page(request, route, period, by_task)


def exception_facts(exception: ReadException) -> list[tuple[Any, str]]:
    """What the person deciding needs beside the form: where, which meter and register, the read and the one
    before it, the consumption, and what the rule found."""
    point = exception.service_point
    facts: list[tuple[Any, str]] = [
        (_("Service point"), f"{point.number} {point.address}"),
        (_("Period"), exception.period),
        (_("Severity"), str(exception.get_severity_display())),
        (_("Message"), exception.get_message_display()),
    ]
    read = exception.read
    if read is not None:
        unit = REGISTER_UNITS.get(read.register, "kWh")
        previous = last_reads([(read.meter_id, read.register)]).get((read.meter_id, read.register))
        facts += [
            (_("Meter"), f"{read.meter.asset_no} · {read.get_register_display()}"),
            (
                _("Reading"),
                f"{read.value} {unit} · {timezone.localtime(read.read_at):%Y-%m-%d %H:%M} · "
                f"{read.get_source_display()} · {read.get_condition_display()}",
            ),
            (
                _("Previous reading"),
                f"{previous.value} {unit}" if previous is not None else str(_("none yet")),
            ),
        ]
        if read.quantity is not None:
            facts.append((_("Consumption"), f"{read.quantity.normalize():f} kWh"))
    return facts


class _ExceptionAction(ActionFormView):
    def exception(self) -> ReadException:
        try:
            return get_in_scope(
                ReadException.objects.all(), self.request.user, write=True, pk=self.kwargs["pk"]
            )
        except NotFound:
            raise Http404 from None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self.kwargs = kwargs
        return super().dispatch(request, *args, **kwargs)

    def context(self, form: Any) -> dict[str, Any]:
        exception = self.exception()
        return {
            **super().context(form),
            "title": f"{self.title} · {exception.get_rule_display()}",
            "facts": exception_facts(exception),
        }

    def success_url(self, result: Any) -> str:
        return str(reverse("readings:exception-list"))


class ExceptionDecisionView(_ExceptionAction):
    """异常处理 — accept, correct, order a re-read or estimate (the engine's history), with a reason."""

    permission = "reading.review"
    form_class = DecisionForm
    title = _("Decide on the exception")

    def perform(self, data: dict[str, Any]) -> Any:
        exception, user, reason = self.exception(), self.request.user, data["reason"]
        decision = data["decision"]
        if decision == "accept":
            return actions.do_accept_exception(user, exception, reason=reason)
        if decision == "correct":
            return actions.do_correct_exception(user, exception, value=data["value"], reason=reason)
        if decision == "reread":
            return actions.do_order_reread(user, exception, reason=reason)
        return actions.do_estimate(
            user, exception, method=data["method"] or "average_last_three", reason=reason
        )


class EstimateApprovalView(_ExceptionAction):
    """审批估抄 — by another person than the one who estimated."""

    permission = "reading.approve_estimate"
    form_class = ApprovalForm
    title = _("Approve the estimate")

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_approve_estimate(self.request.user, self.exception(), reason=data["reason"])
