"""Billing screens: runs (list, launch, detail with the progress of each chunk and the accounts not billed) and
bills (list, detail with the explanation of every line)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from gridcare.billing.actions import do_accept_finding, do_release_bills, do_rerate_bill
from gridcare.billing.executors import start_run
from gridcare.billing.filters import BillFilter, ReviewFilter, RunFilter
from gridcare.billing.forms import RunForm
from gridcare.billing.models import Bill, BillFinding, BillingRun, NotBilled, RunChunk, price_unit
from gridcare.billing.selectors import explain
from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.web.display import display, money, with_unit
from gridcare.web.views import ActionFormView, Column, ScopedDetailView, ScopedListView, StaffMixin

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
        explanation = explain(bill)
        context["explanation"] = explanation
        context["parts"] = [
            (code, usage, [_explained_row(ln) for ln in rated.lines])
            for code, usage, rated in explanation.parts
        ]
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
