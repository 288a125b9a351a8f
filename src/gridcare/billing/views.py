"""Billing screens: runs (list, launch, detail with the progress of each chunk and the accounts not billed) and
bills (list, detail with the explanation of every line)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.billing.actions import (
    do_accept_finding,
    do_change_plausibility_rule,
    do_release_bills,
    do_rerate_bill,
    do_set_sales_plan,
)
from gridcare.billing.conf import conf
from gridcare.billing.documents import pdf_response, printed_lines
from gridcare.billing.executors import resume_run, run_progress, start_run
from gridcare.billing.filters import BillFilter, RebillFilter, ReviewFilter, RunFilter
from gridcare.billing.forms import (
    RebillForm,
    ReportForm,
    RuleForm,
    RunForm,
    SalesPlanForm,
    rebill_params,
)
from gridcare.billing.models import (
    Bill,
    BillFinding,
    BillingRun,
    NotBilled,
    PlausibilityRule,
    Rebill,
    RebillItem,
    RunChunk,
    SalesPlan,
    price_unit,
)
from gridcare.billing.rebill import PENALTY
from gridcare.billing.rebill_actions import (
    do_approve_rebill,
    do_post_rebill,
    do_propose_rebill,
    do_reject_rebill,
    do_submit_rebill,
    do_withdraw_rebill,
)
from gridcare.billing.reports import (
    Selection,
    Sold,
    check_text,
    default_report_period,
    kind_labels,
    register_sheet,
    sales_summary,
    sold_by_unit,
    summary_sheet,
)
from gridcare.billing.review import PARAM_LABELS, rule_label
from gridcare.billing.selectors import explain
from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, InvalidInput, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.customers.models import Account
from gridcare.engine.plausibility import DEFAULT_PARAMS
from gridcare.org.models import OrgUnit
from gridcare.web.display import display, in_wan, money, number, with_unit
from gridcare.web.excel import report_response
from gridcare.web.views import (
    ActionFormView,
    Column,
    ScopedDetailView,
    ScopedListView,
    StaffMixin,
    apply_error,
)
from gridcare.web.workbench import format_value, ratio

#: rows of the not-billed list shown on a run's page (the API lists them all)
NOT_BILLED_SHOWN = 200


class RunListView(ScopedListView):
    """电费计算批次 — runs with their period, scope, progress and figures."""

    model = BillingRun
    permission = "billing.view"
    filterset_class = RunFilter
    title = _("Billing runs")
    export_name = "billing-runs"
    create_url_name = "billing:run-create"
    create_permission = "billing.run"
    columns = [
        Column(_("Run"), "pk", link=True),
        Column(_("Period"), "period"),
        Column(_("Run scope"), "get_scope_display"),
        Column(_("Executor"), "get_executor_display"),
        Column(_("Status"), "get_status_display"),
        Column(_("Chunks done"), lambda r: f"{r.chunks_done} / {r.chunks}"),
        Column(_("Bills"), "bills"),
        Column(_("Accounts not billed"), "not_billed"),
        Column(_("Total amount"), "total"),
        Column(_("Started by"), "created_by.display_name"),
        Column(_("Started at"), "started_at"),
    ]

    def base_queryset(self) -> Any:
        return BillingRun.objects.select_related("created_by")


class RunCreateView(ActionFormView):
    """发起电费计算 — a period for the whole company or a unit, with the executor."""

    permission = "billing.run"
    form_class = RunForm
    title = _("Start a billing run")
    success_message = _("Billing run finished.")

    def perform(self, data: dict[str, Any]) -> Any:
        return start_run(
            self.request.user,
            period=data["period"],
            org_unit=data.get("org_unit"),
            executor=data["executor"],
            wait=data["executor"] != BillingRun.Executor.CELERY,
        )


class RunDetailView(ScopedDetailView):
    """批次详情 — counts, the progress of each chunk and the accounts not billed with the reason."""

    model = BillingRun
    permission = "billing.view"
    template_name = "billing/run_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = context["object"]
        context["chunks"] = RunChunk.objects.filter(run=run).order_by("number")
        context["progress"] = run_progress(run)
        context["refresh_seconds"] = int(conf("PAGE_REFRESH_SECONDS"))
        context["can_resume"] = run.status != BillingRun.Status.DONE and has_perm(
            self.request.user, "billing.run"
        )
        context["not_billed"] = NotBilled.objects.filter(run=run).select_related("account")[:NOT_BILLED_SHOWN]
        context["title"] = str(run)
        return context


class BillListView(ScopedListView):
    """电费账单 — bills by period, status and run."""

    model = Bill
    permission = "billing.view"
    filterset_class = BillFilter
    title = _("Bills")
    export_name = "bills"
    paginate_by = 50
    columns = [
        Column(_("Period"), "period"),
        Column(_("Account number"), "account.number", link=True),
        Column(_("Account name"), "account.name"),
        Column(_("Tariff code"), "tariff_code"),
        Column(_("Energy"), "energy_kwh"),
        Column(_("Amount due"), "total"),
        Column(_("Kind"), "get_kind_display"),
        Column(_("Status"), "get_status_display"),
    ]

    def base_queryset(self) -> Any:
        return Bill.objects.select_related("account")


def _explained_row(line: Any) -> dict[str, str]:
    """An explain-mode line in words: quantity and price with their units, the proration, version and note."""
    return {
        "label": line.label,
        "quantity": with_unit(line.quantity, line.unit) if line.unit else display(line.quantity),
        "unit_price": with_unit(line.unit_price, price_unit(line.unit)),
        "factor": "—" if line.factor == 1 else f"{line.factor.numerator}/{line.factor.denominator}",
        "version_from": display(line.version_from),
        "note": display(line.note),
        "amount": money(line.amount),
    }


class BillPdfView(ScopedDetailView):
    """下载PDF — the bill's 电费通知单 (outside the reader's scope: 404; a draft carries the watermark 草稿)."""

    model = Bill
    permission = "billing.view"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return pdf_response(self.get_object())


def _summary_cells(bills: int, kwh: Any, charges: dict[str, Any], total: Any) -> list[str]:
    """A summary line's figures through the display layer: bills, kWh and 元 with their units."""
    return [display(bills), with_unit(kwh, "kWh"), *[money(v) for v in charges.values()], money(total)]


class ReportsView(StaffMixin, TemplateView):
    """电费报表 — the monthly sales summary (售电量、电费汇总) on screen with its check against the released bills,
    and the Excel downloads: 电费发行清单 (one row per released bill) and the summary."""

    permission = "billing.view"
    template_name = "billing/reports.html"
    request: StaffHttpRequest

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params = request.GET.copy()
        params.setdefault("period", default_report_period())
        form = ReportForm(params, user=request.user)
        if not form.is_valid():
            return self.render_to_response({"form": form, "title": _("Billing reports")}, status=400)
        data = form.cleaned_data
        selection = Selection(data["period"], data["unit"], data["route"], data["customer_class"])
        export = request.GET.get("export")
        if export == "register":
            return report_response(
                f"{_('Bill register')}_{selection.period}",
                f"bill-register-{selection.period}",
                [register_sheet(selection, request.user)],
            )
        summary = sales_summary(selection, request.user)
        if export == "summary":
            return report_response(
                f"{_('Sales summary')}_{selection.period}",
                f"sales-summary-{selection.period}",
                [summary_sheet(summary)],
            )
        others = [(k, v) for k, v in request.GET.items() if k not in ("export", "period") and v]
        query = urlencode([("period", selection.period), *others])
        return self.render_to_response(
            {
                "form": form,
                "title": _("Billing reports"),
                "summary": summary,
                "headers": [
                    _("Customer class"),
                    _("Voltage level"),
                    _("Supply unit"),
                    _("Number of bills"),
                    _("Energy"),
                    *kind_labels(),
                    _("Total"),
                ],
                "rows": [
                    [r.customer_class, r.voltage, r.unit, *_summary_cells(r.bills, r.kwh, r.charges, r.total)]
                    for r in summary.rows
                ],
                "totals": [
                    _("Grand total"),
                    "",
                    "",
                    *_summary_cells(summary.bills, summary.kwh, summary.charges, summary.total),
                ],
                "check": check_text(summary),
                "query": query,
            }
        )


@dataclass(frozen=True)
class RuleRow:
    code: str
    label: str
    params: str
    defaults: str
    enabled: bool
    changed: bool


def _params_in_words(params: dict[str, Any]) -> str:
    return "；".join(f"{PARAM_LABELS[k][0]}：{v:,}" for k, v in params.items()) or "—"


class RulesView(StaffMixin, TemplateView):
    """异常电费审核规则 — every plausibility rule with its parameters as the next run uses them (the defaults where
    none is stored); the billing accountant's manager edits them."""

    permission = "billing.view"
    template_name = "billing/rules.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stored = {r.code: r for r in PlausibilityRule.objects.all()}
        rows = []
        for code, defaults in DEFAULT_PARAMS.items():
            rule = stored.get(code)
            params = {**defaults, **(rule.params if rule else {})}
            rows.append(
                RuleRow(
                    code,
                    rule_label(code),
                    _params_in_words(params),
                    _params_in_words(defaults),
                    rule.enabled if rule else True,
                    rule is not None and (not rule.enabled or params != defaults),
                )
            )
        context.update(
            title=_("Plausibility rules"),
            rules=rows,
            can_edit=has_perm(self.request.user, "billing.manage_rules"),
        )
        return context


class RuleEditView(ActionFormView):
    """修改审核规则 — on/off and the parameters, through the audited action."""

    permission = "billing.manage_rules"
    form_class = RuleForm
    success_message = _("The rule is saved; the next billing run uses it.")

    @property
    def code(self) -> str:
        code = str(self.kwargs["code"])
        if code not in DEFAULT_PARAMS:
            raise Http404(_("Not found or outside your data scope."))
        return code

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{_('Edit plausibility rule')}：{rule_label(self.code)}"

    def get_form(self, data: Any = None) -> Any:
        return RuleForm(data, initial=self.get_initial(), code=self.code)

    def get_initial(self) -> dict[str, Any]:
        rule = PlausibilityRule.objects.filter(code=self.code).first()
        return {
            "enabled": rule.enabled if rule else True,
            **DEFAULT_PARAMS[self.code],
            **(rule.params if rule else {}),
        }

    def perform(self, data: dict[str, Any]) -> Any:
        params = {name: data[name] for name in DEFAULT_PARAMS[self.code]}
        return do_change_plausibility_rule(
            self.request.user, self.code, enabled=data["enabled"], params=params
        )

    def success_url(self, result: Any) -> str:
        return reverse("billing:rules")


class BillDetailView(ScopedDetailView):
    """账单详情 — every line, and its explanation: quantity, unit price, tier progress, TOU split, PF adjustment,
    compensation credit."""

    model = Bill
    permission = "billing.view"
    template_name = "billing/bill_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        bill = context["object"]
        context["lines"] = bill.lines.all()
        if bill.kind == Bill.Kind.REGULAR:
            explanation = explain(bill)
            context["lines"] = printed_lines(list(context["lines"]), explanation.parts)
            context["explanation"] = explanation
            context["parts"] = [
                (code, usage, [_explained_row(ln) for ln in rated.lines])
                for code, usage, rated in explanation.parts
            ]
        context["corrections"] = restrict(
            RebillItem.objects.filter(bill=bill).select_related("rebill", "correcting_bill"),
            self.request.user,
        ).order_by("pk")
        context["corrects"] = (
            restrict(RebillItem.objects.filter(correcting_bill=bill), self.request.user)
            .select_related("rebill", "bill")
            .first()
        )
        context["can_rebill"] = (
            bill.kind == Bill.Kind.REGULAR
            and bill.status == Bill.Status.RELEASED
            and has_perm(self.request.user, "billing.propose_adjustment")
        )
        context["title"] = str(bill)
        context["findings"] = bill.findings.select_related("accepted_by")
        context["open_bill"] = bill.status in (Bill.Status.DRAFT, Bill.Status.REVIEW)
        context["can_release"] = has_perm(self.request.user, "billing.release")
        context["can_rerate"] = has_perm(self.request.user, "billing.run") and bill.run_id is not None
        return context


def findings_in_words(bill: Bill) -> str:
    return "；".join(
        f"{f.get_rule_display()}：{f.detail}" + ("（已接受）" if f.accepted else "")
        for f in bill.findings.all()
    )


class ReviewListView(ScopedListView):
    """异常电费审核 — the bills in review with their findings in words, filtered by run, unit and rule; release
    the selected bills or the whole filtered set."""

    model = Bill
    permission = "billing.view"
    filterset_class = ReviewFilter
    title = _("Bill review")
    export_name = "bill-review"
    template_name = "billing/review_list.html"
    paginate_by = 50
    columns = [
        Column(_("Account number"), "account.number", link=True),
        Column(_("Account name"), "account.name"),
        Column(_("Period"), "period"),
        Column(_("Energy"), "energy_kwh"),
        Column(_("Amount due"), "total"),
        Column(_("Findings"), findings_in_words),
    ]

    def base_queryset(self) -> Any:
        return (
            Bill.objects.filter(status=Bill.Status.REVIEW)
            .select_related("account")
            .prefetch_related("findings")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_release"] = has_perm(self.request.user, "billing.release")
        return context


class _PostView(StaffMixin, View):
    """A button of the review: runs an action, comes back with its message (business errors as an error)."""

    request: StaffHttpRequest

    def act(self) -> tuple[str, str]:
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            text, target = self.act()
        except NotFound:
            raise Http404(_("Not found or outside your data scope.")) from None
        except GridcareError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.META.get("HTTP_REFERER") or reverse("billing:review"))
        messages.success(request, text)
        return HttpResponseRedirect(target)


class ReviewReleaseView(_PostView):
    """批量发行 — the ticked bills, or every bill of the review list's filter."""

    permission = "billing.release"

    def act(self) -> tuple[str, str]:
        post = self.request.POST
        params = {k.removeprefix("filter_"): v for k, v in post.items() if k.startswith("filter_")}
        queryset = restrict(Bill.objects.filter(status=Bill.Status.REVIEW), self.request.user)
        filterset = ReviewFilter(params or None, queryset=queryset, request=self.request)
        bills = filterset.qs if not filterset.is_bound or filterset.is_valid() else queryset.none()
        if post.get("scope") != "all":
            bills = bills.filter(pk__in=[int(x) for x in post.getlist("ids") if x.isdigit()])
        released = do_release_bills(self.request.user, bills)
        target = f"{reverse('billing:review')}?{urlencode(params)}"
        return str(_("%(count)s bills released.") % {"count": released}), target


class BillReleaseView(_PostView):
    """电费发行 of one bill."""

    permission = "billing.release"

    def act(self) -> tuple[str, str]:
        pk = self.kwargs["pk"]
        do_release_bills(self.request.user, Bill.objects.filter(pk=pk), single=True)
        return str(_("The bill is released.")), reverse("billing:bill-detail", args=[pk])


class BillRerateView(_PostView):
    """重新计费 of a draft or review bill (after a reading correction)."""

    permission = "billing.run"

    def act(self) -> tuple[str, str]:
        new = do_rerate_bill(self.request.user, self.kwargs["pk"])
        return str(_("The bill is re-rated.")), new.get_absolute_url()


class FindingAcceptView(_PostView):
    """接受异常 with the reason typed on the bill page."""

    permission = "billing.release"

    def act(self) -> tuple[str, str]:
        finding = do_accept_finding(self.request.user, self.kwargs["pk"], self.request.POST.get("reason", ""))
        bill = BillFinding.objects.values_list("bill_id", flat=True).get(pk=finding.pk)
        return str(_("The finding is accepted.")), reverse("billing:bill-detail", args=[bill])


class RunResumeView(_PostView):
    """继续计算 — the chunks of a run not done yet (after a kill or failed chunks)."""

    permission = "billing.run"

    def act(self) -> tuple[str, str]:
        run = BillingRun.objects.filter(pk=self.kwargs["pk"]).only("executor").first()
        wait = run is None or run.executor != BillingRun.Executor.CELERY
        resumed = resume_run(self.request.user, self.kwargs["pk"], wait=wait)
        return str(_("The billing run is resumed.")), resumed.get_absolute_url()


# ------------------------------------------------------------------------------------------------- 退补 (rebill)


def _rebill_bills(case: Rebill) -> str:
    return "、".join(f"{i.bill.account.number} {i.bill.period}" for i in case.items.all()[:4]) + (
        " …" if len(case.items.all()) > 4 else ""
    )


class RebillListView(ScopedListView):
    """退补申请 — cases by status, type and period, with their amount and who proposed them."""

    model = Rebill
    permission = "billing.view"
    filterset_class = RebillFilter
    title = _("Rebills")
    export_name = "rebills"
    create_url_name = "billing:rebill-create"
    create_permission = "billing.propose_adjustment"
    columns = [
        Column(_("Case number"), "number", link=True),
        Column(_("Rebill type"), "get_kind_display"),
        Column(_("Status"), "get_status_display"),
        Column(_("Bills corrected"), _rebill_bills),
        Column(_("Difference"), "difference"),
        Column(_("Penalty"), "penalty"),
        Column(_("Total of the case"), "total"),
        Column(_("Proposed by"), "proposed_by.display_name"),
        Column(_("Proposed at"), "proposed_at"),
    ]

    def base_queryset(self) -> Any:
        return Rebill.objects.select_related("proposed_by").prefetch_related("items__bill__account")


class RebillCreateView(ActionFormView):
    """新建退补申请 — from a bill's page (``?bill=``) or by account and periods."""

    permission = "billing.propose_adjustment"
    form_class = RebillForm
    title = _("New rebill")
    success_message = _("The rebill is computed.")

    def _bill(self) -> Bill | None:
        raw = self.request.GET.get("bill")
        if not raw or not str(raw).isdigit():
            return None
        bill = restrict(Bill.objects.select_related("account"), self.request.user).filter(pk=int(raw)).first()
        if bill is None:
            raise Http404(_("Not found or outside your data scope."))
        return bill

    def get_initial(self) -> dict[str, Any]:
        return {"submit": True}

    def get_form(self, data: Any = None) -> Any:
        form = super().get_form(data)
        if self._bill() is not None:  # from a bill's page: that bill, no account or periods to give
            del form.fields["account"], form.fields["periods"]
        return form

    def context(self, form: Any) -> dict[str, Any]:
        context = super().context(form)
        bill = self._bill()
        if bill is not None:
            context["facts"] = [
                (_("Bill"), f"{bill.period} {bill.number or ''}"),
                (_("Account"), f"{bill.account.number} {bill.account.name}"),
                (_("Amount due"), money(bill.total)),
                (_("Energy"), with_unit(bill.energy_kwh, "kWh")),
            ]
        return context

    def perform(self, data: dict[str, Any]) -> Any:
        bill = self._bill()
        account: int | None = None
        number = (data.get("account") or "").strip()
        if bill is None and number:
            account = (
                restrict(Account.objects.filter(number=number), self.request.user, write=True)
                .values_list("pk", flat=True)
                .first()
            )
            if account is None:
                raise InvalidInput(
                    {
                        "account": f"户号 {number} 不存在或不在您的数据范围内。 (Account not found or outside your scope.)"
                    }
                )
        periods = [p.strip() for p in (data.get("periods") or "").replace("，", ",").split(",") if p.strip()]
        return do_propose_rebill(
            self.request.user,
            kind=data["kind"],
            reason=data["reason"],
            bills=[bill.pk] if bill is not None else None,
            account=account,
            periods=periods,
            params=rebill_params(data),
            submit=bool(data.get("submit")),
        )


def _compare(item: RebillItem) -> list[dict[str, str]]:
    """The original, corrected and difference amounts (元, the unit in the table head) per line code."""
    data = item.explanation
    before = {ln["code"]: ln for ln in data.get("original", [])}
    after = {ln["code"]: ln for ln in data.get("corrected", [])}
    rows = []
    for code in dict.fromkeys([*before, *after]):
        old, new = before.get(code), after.get(code)
        a = Decimal((old or {}).get("amount") or 0)
        b = Decimal((new or {}).get("amount") or 0)
        rows.append(
            {
                "label": (new or old or {})["label"],
                "original": number(a, 2) if old else "—",
                "corrected": number(b, 2) if new else "—",
                "difference": number(b - a, 2),
            }
        )
    for ln in data.get("lines", []):
        if ln["code"] == PENALTY:
            rows.append(
                {
                    "label": ln["label"],
                    "original": "—",
                    "corrected": "—",
                    "difference": number(Decimal(ln["amount"]), 2),
                }
            )
    return rows


class RebillDetailView(ScopedDetailView):
    """退补申请详情 — every bill's original and re-rated lines and the difference, the notes, the decision, the
    correcting bills; the buttons the person's permissions and the case's state allow."""

    model = Rebill
    permission = "billing.view"
    template_name = "billing/rebill_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        case: Rebill = context["object"]
        user = self.request.user
        mine = case.proposed_by_id == user.pk
        S = Rebill.Status
        context["title"] = str(case)
        context["items"] = [
            (item, _compare(item))
            for item in case.items.select_related("bill__account", "correcting_bill").order_by("pk")
        ]
        context["can_submit"] = (
            mine and case.status == S.DRAFT and has_perm(user, "billing.propose_adjustment")
        )
        context["can_withdraw"] = mine and case.status in (S.DRAFT, S.PENDING, S.APPROVED)
        context["can_decide"] = (
            not mine and case.status == S.PENDING and has_perm(user, "billing.approve_adjustment")
        )
        context["can_post"] = case.status == S.APPROVED and has_perm(user, "billing.release")
        return context


class _RebillPostView(_PostView):
    """A button of a rebill case: the action, then back to the case with its message."""

    def act(self) -> tuple[str, str]:
        case = self.run(self.kwargs["pk"])
        return str(self.done), case.get_absolute_url()

    done: Any = ""

    def run(self, pk: int) -> Rebill:
        raise NotImplementedError


class RebillSubmitView(_RebillPostView):
    permission = "billing.propose_adjustment"
    done = _("The rebill is submitted.")

    def run(self, pk: int) -> Rebill:
        return do_submit_rebill(self.request.user, pk)


class RebillApproveView(_RebillPostView):
    permission = "billing.approve_adjustment"
    done = _("The rebill is approved.")

    def run(self, pk: int) -> Rebill:
        return do_approve_rebill(self.request.user, pk, note=self.request.POST.get("note", ""))


class RebillRejectView(_RebillPostView):
    permission = "billing.approve_adjustment"
    done = _("The rebill is rejected.")

    def run(self, pk: int) -> Rebill:
        return do_reject_rebill(self.request.user, pk, note=self.request.POST.get("note", ""))


class RebillWithdrawView(_RebillPostView):
    permission = "billing.propose_adjustment"
    done = _("The rebill is withdrawn.")

    def run(self, pk: int) -> Rebill:
        return do_withdraw_rebill(self.request.user, pk)


class RebillPostView(_RebillPostView):
    permission = "billing.release"
    done = _("The correcting bills are posted.")

    def run(self, pk: int) -> Rebill:
        return do_post_rebill(self.request.user, pk)


# ------------------------------------------------------------------------------------------- 售电计划 (sales plan)


@dataclass(frozen=True)
class PlanLine:
    """One line of the plan table: a unit's figure of one kind for the twelve months and the year."""

    unit: OrgUnit
    label: str
    cells: list[str]
    first: bool  # the unit's first line (its name spans the unit's lines)


def _plan_lines(unit: OrgUnit, plans: list[Sold | None], actual: list[Sold]) -> list[PlanLine]:
    """Planned, actual and completion for kWh, then for revenue: twelve months and the year (the year's completion
    counts the sales of the planned months only, so a month without a plan does not inflate it)."""
    year_plan = [p for p in plans if p is not None]
    plan_kwh = sum((p.kwh for p in year_plan), Decimal(0))
    plan_revenue = sum((p.revenue for p in year_plan), Decimal(0))
    sold_kwh = sum((a.kwh for a in actual), Decimal(0))
    sold_revenue = sum((a.revenue for a in actual), Decimal(0))
    planned_months = [a for a, p in zip(actual, plans, strict=True) if p is not None]
    done_kwh = sum((a.kwh for a in planned_months), Decimal(0))
    done_revenue = sum((a.revenue for a in planned_months), Decimal(0))

    def planned(values: list[Decimal | None], total: Decimal, show: Any) -> list[str]:
        return [show(v) if v is not None else "—" for v in values] + [show(total) if year_plan else "—"]

    def completion(
        done: list[Decimal], plan: list[Decimal | None], total: tuple[Decimal, Decimal]
    ) -> list[str]:
        cells = [
            format_value(ratio(d, p) if p is not None else None, "%") for d, p in zip(done, plan, strict=True)
        ]
        return [*cells, format_value(ratio(*total) if year_plan else None, "%")]

    kwh_plan = [p.kwh if p is not None else None for p in plans]
    revenue_plan = [p.revenue if p is not None else None for p in plans]

    def kwh(value: Decimal) -> str:
        return in_wan(value, "kWh")

    def money(value: Decimal) -> str:
        return in_wan(value, "元")

    lines = [
        (_("Planned energy"), planned(kwh_plan, plan_kwh, kwh)),
        (_("Energy sold"), [kwh(a.kwh) for a in actual] + [kwh(sold_kwh)]),
        (_("Energy completion"), completion([a.kwh for a in actual], kwh_plan, (done_kwh, plan_kwh))),
        (_("Planned revenue"), planned(revenue_plan, plan_revenue, money)),
        (_("Revenue billed"), [money(a.revenue) for a in actual] + [money(sold_revenue)]),
        (
            _("Revenue completion"),
            completion([a.revenue for a in actual], revenue_plan, (done_revenue, plan_revenue)),
        ),
    ]
    return [PlanLine(unit, str(label), cells, i == 0) for i, (label, cells) in enumerate(lines)]


def _plan_year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() else timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


class SalesPlanView(StaffMixin, View):
    """售电计划 — for a chosen year, each unit (with a plan or sales, and the whole company) × twelve months: planned
    and sold kWh and revenue with the completion rates (the KPIs' figures: a unit counts its subtree), and the form
    that sets one unit's twelve months through the audited action."""

    permission = "sales_plan.set"
    template_name = "billing/sales_plan.html"
    request: StaffHttpRequest

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        year = _plan_year(request)
        form = SalesPlanForm(initial=self._initial(year, request.GET.get("unit", "")), user=request.user)
        return self._render(year, form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SalesPlanForm(request.POST, user=request.user)
        year = _plan_year(request)
        if form.is_valid():
            year = form.cleaned_data["year"]
            try:
                do_set_sales_plan(self.request.user, form.cleaned_data["org_unit"], year, form.months())
            except NotFound:
                raise Http404 from None
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(request, _("The sales plan is saved."))
                query = urlencode({"year": year, "unit": form.cleaned_data["org_unit"].pk})
                return HttpResponseRedirect(f"{reverse('billing:sales-plan')}?{query}")
        return self._render(year, form, status=400)

    def _initial(self, year: int, unit: str) -> dict[str, Any]:
        initial: dict[str, Any] = {"year": year}
        found = (
            restrict(OrgUnit.objects.filter(pk=int(unit)), self.request.user).first()
            if unit.isdigit()
            else None
        )
        if found is None:
            return initial
        initial["org_unit"] = found
        for plan in restrict(SalesPlan.objects.filter(org_unit=found, month__year=year), self.request.user):
            initial[f"kwh_{plan.month.month}"] = plan.kwh
            initial[f"revenue_{plan.month.month}"] = plan.revenue
        return initial

    def _render(self, year: int, form: SalesPlanForm, status: int = 200) -> HttpResponse:
        user = self.request.user
        plans = list(restrict(SalesPlan.objects.filter(month__year=year), user).select_related("org_unit"))
        sold = [sold_by_unit(Selection(f"{year}-{m:02d}"), user) for m in range(1, 13)]
        paths = {p.org_unit.path for p in plans} | {path for month in sold for path in month}
        units = list(restrict(OrgUnit.objects.all(), user).order_by("path"))
        visible = {u.pk for u in units}
        roots = [u for u in units if u.parent_id not in visible]  # the whole of what the user sees, as totals
        shown = [u for u in units if u.path in paths or u in roots]
        lines: list[PlanLine] = []
        for unit in shown:
            month_plans: list[Sold | None] = []
            actual: list[Sold] = []
            for m in range(1, 13):
                mine = [p for p in plans if p.month.month == m and p.org_unit.path.startswith(unit.path)]
                month_plans.append(sum((Sold(p.kwh, p.revenue) for p in mine), Sold()) if mine else None)
                actual.append(sum((v for k, v in sold[m - 1].items() if k.startswith(unit.path)), Sold()))
            lines.extend(_plan_lines(unit, month_plans, actual))
        context = {
            "title": _("Sales plan"),
            "year": year,
            "years": [year - 1, year, year + 1],
            "months": [str(_("Month %(month)s") % {"month": m}) for m in range(1, 13)],
            "lines": lines,
            "form": form,
        }
        return render(self.request, self.template_name, context, status=status)
