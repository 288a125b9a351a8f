"""The cashier's screens (营业厅收费): find the account, see what it owes, take a payment, print the receipt,
reverse today's own payment or ask for an approval, close the day (日结); approvals for the approver; channel
reconciliation (对账) with its differences and the Excel report. Every write goes through an action."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.customers.models import Account
from gridcare.customers.selectors import search_accounts
from gridcare.ledger import actions, latefees, selectors
from gridcare.ledger.forms import (
    ChannelFileForm,
    CloseForm,
    CreditRequestForm,
    PaymentForm,
    ReasonForm,
    RefundForm,
)
from gridcare.ledger.models import ApprovalRequest, ChannelFile, DailyClose, Difference, Method, Payment
from gridcare.ledger.receipt import receipt_pdf
from gridcare.ledger.reconcile import (
    do_import_channel_file,
    do_post_file_missing,
    do_resolve_difference,
    report_rows,
)
from gridcare.web.excel import workbook_response
from gridcare.web.views import Column, ScopedListView, StaffMixin, apply_error


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(request.META.get("HTTP_REFERER") or default)


def _explained(charge: Any) -> dict[str, Any] | None:
    """The late-fee explanation of a bill charge for the screen: lines (days, base, rate in ‰, exact amount)."""
    why = latefees.explain(charge)
    if why is None:
        return None
    lines = [
        {
            "first_day": line.first_day,
            "last_day": line.last_day,
            "days": line.days,
            "base": line.base,
            "per_mille": (line.rate * 1000).normalize(),
            "amount": line.amount.quantize(Decimal("0.0001")),
        }
        for line in why.lines
    ]
    return {"lines": lines, "fee": why.fee, "minimum_applied": why.minimum_applied}


class CounterView(StaffMixin, View):
    """收费台 — search (户号, name, phone, meter no.), the account's arrears, bills due and late fees, the payment
    form and the account's recent payments."""

    permission = "payment.post"
    request: StaffHttpRequest

    def _account(self) -> Account | None:
        raw = self.request.GET.get("account", "")
        if not raw.isdigit():
            return None
        found = restrict(Account.objects.select_related("org_unit"), self.request.user, write=True).filter(
            pk=int(raw)
        )
        account = found.first()
        if account is None:
            raise Http404(_("Not found or outside your data scope."))
        return account

    def context(self, form: PaymentForm | None = None) -> dict[str, Any]:
        query = self.request.GET.get("q", "").strip()
        account = self._account()
        context: dict[str, Any] = {"title": _("Cashier counter"), "query": query, "account": account}
        if query and account is None:
            context["hits"] = search_accounts(self.request.user, query, limit=20)
        if account is not None:
            position = selectors.account_position(account)
            for item in position.items:  # why each overdue bill owes its late fee (days × base × rate)
                entry = item.entry
                charge = entry.concerns if entry.kind == "late_fee" else entry
                item.explanation = _explained(charge) if charge is not None else None  # type: ignore[attr-defined]
            context["position"] = position
            context["form"] = form or PaymentForm(
                initial={"amount": position.owed if position.owed > 0 else "", "method": "cash"}
            )
            context["payments"] = selectors.recent_payments(self.request.user, account, limit=10)
            context["refund_form"] = RefundForm()
        today = timezone.localdate()
        context["today"] = today
        context["closed"] = selectors.todays_close(self.request.user)
        context["can_reverse"] = has_perm(self.request.user, "payment.reverse")
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "ledger/counter.html", self.context())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = self._account()
        if account is None:
            raise Http404(_("Not found or outside your data scope."))
        form = PaymentForm(request.POST)
        if form.is_valid():
            try:
                payment = actions.do_take_payment(self.request.user, account=account, **form.cleaned_data)
            except NotFound:
                raise Http404 from None
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(
                    request,
                    _("Payment %(number)s taken: %(amount)s 元.")
                    % {"number": payment.number, "amount": payment.amount},
                )
                return HttpResponseRedirect(
                    f"{reverse('ledger:counter')}?account={account.pk}&receipt={payment.pk}"
                )
        return render(request, "ledger/counter.html", self.context(form), status=400)


class ReceiptView(StaffMixin, View):
    """收费凭证 (PDF) of a payment in the user's scope."""

    permission = ("payment.post", "billing.view")
    request: StaffHttpRequest

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        payment = (
            restrict(Payment.objects.select_related("account", "cashier"), self.request.user)
            .filter(pk=pk)
            .first()
        )
        if payment is None:
            raise Http404(_("Not found or outside your data scope."))
        response = HttpResponse(receipt_pdf(payment), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="receipt-{payment.number}.pdf"'
        return response


class _PostView(StaffMixin, View):
    """A button: runs an action and comes back with its message (a business error as an error message)."""

    request: StaffHttpRequest
    fallback = "ledger:counter"

    def act(self) -> str:
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            text = self.act()
        except NotFound:
            raise Http404(_("Not found or outside your data scope.")) from None
        except GridcareError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, text)
        return _back(request, reverse(self.fallback))


class ReverseView(_PostView):
    """冲正 your own payment of today; any other payment: the reversal is asked for (an approval)."""

    permission = "payment.post"

    def act(self) -> str:
        form = ReasonForm(self.request.POST)
        if not form.is_valid():
            return str(_("A reason is required."))
        payment = actions.payment_or_404(self.request.user, self.kwargs["pk"])
        reason = form.cleaned_data["reason"]
        own_today = payment.cashier_id == self.request.user.pk and payment.day == timezone.localdate()
        if (
            own_today
            and has_perm(self.request.user, "payment.reverse")
            and not selectors.todays_close(self.request.user)
        ):
            actions.do_reverse_payment(self.request.user, payment.pk, reason)
            return str(_("Payment %(number)s reversed.") % {"number": payment.number})
        actions.do_request_approval(self.request.user, kind="reversal", payment_id=payment.pk, reason=reason)
        return str(_("The reversal of %(number)s is waiting for approval.") % {"number": payment.number})


class RefundRequestView(_PostView):
    """退费 of an account's credit — asked for; carried out when approved."""

    permission = "payment.post"

    def act(self) -> str:
        form = RefundForm(self.request.POST)
        if not form.is_valid():
            return str(_("Amount and reason are required."))
        actions.do_request_approval(
            self.request.user, kind="refund", account=int(self.kwargs["account"]), **form.cleaned_data
        )
        return str(_("The refund is waiting for approval."))


class CreditRequestView(_PostView):
    """减免 (a late fee) or 核销 (a bill charge or late fee) of an open ledger entry — asked for with a reason and an
    amount (empty: all that is open); carried out when approved within the approver's limit."""

    permission = ("payment.post", "arrears.dun")

    def act(self) -> str:
        form = CreditRequestForm(self.request.POST)
        if not form.is_valid():
            return str(_("Type and reason are required."))
        request = actions.do_request_approval(
            self.request.user,
            kind=form.cleaned_data["kind"],
            entry_id=int(self.kwargs["pk"]),
            amount=form.cleaned_data["amount"] or None,
            reason=form.cleaned_data["reason"],
        )
        return str(
            _("%(kind)s of %(amount)s 元 is waiting for approval.")
            % {"kind": request.get_kind_display(), "amount": request.amount}
        )


class CloseView(StaffMixin, View):
    """日结 — today's totals by payment method, the cash expected, the cash handed over; earlier closes."""

    permission = "payment.post"
    request: StaffHttpRequest

    def context(self, form: CloseForm | None = None) -> dict[str, Any]:
        today = timezone.localdate()
        figures = actions.day_figures(self.request.user.pk, today)
        return {
            "title": _("Daily close"),
            "today": today,
            "figures": figures,
            "by_method": [
                (label, figures["by_method"][value])
                for value, label in Method.choices
                if value in figures["by_method"]
            ],
            "closed": selectors.todays_close(self.request.user),
            "form": form or CloseForm(initial={"cash_handed_over": figures["cash_expected"]}),
            "closes": restrict(DailyClose.objects.select_related("cashier"), self.request.user)[:30],
        }

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "ledger/close.html", self.context())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = CloseForm(request.POST)
        if form.is_valid():
            try:
                actions.do_close_day(self.request.user, **form.cleaned_data)
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(request, _("The day is closed."))
                return HttpResponseRedirect(reverse("ledger:close"))
        return render(request, "ledger/close.html", self.context(form), status=400)


class PaymentListView(ScopedListView):
    """收费记录 — payments by day, method and cashier."""

    model = Payment
    permission = "billing.view"
    title = _("Payments")
    export_name = "payments"
    paginate_by = 50
    columns = [
        Column(_("Receipt number"), "number"),
        Column(_("Account number"), "account.number"),
        Column(_("Account name"), "account.name"),
        Column(_("Amount"), "amount"),
        Column(_("Payment method"), "get_method_display"),
        Column(_("Collection channel"), lambda p: p.channel.name if p.channel else "—"),
        Column(_("Received by"), "cashier.display_name"),
        Column(_("Received at"), "received_at"),
    ]

    def base_queryset(self) -> Any:
        return Payment.objects.select_related("account", "cashier", "channel")


class ApprovalListView(StaffMixin, View):
    """待审批 — reversals and refunds waiting for a decision (approvers decide; cashiers see their own)."""

    permission = ("payment.post", "payment.approve")
    request: StaffHttpRequest

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = restrict(
            ApprovalRequest.objects.select_related(
                "account", "payment", "concerns", "requested_by", "decided_by"
            ),
            self.request.user,
        )
        return render(
            request,
            "ledger/approvals.html",
            {
                "title": _("Approvals"),
                "pending": rows.filter(status=ApprovalRequest.Status.PENDING),
                "decided": rows.exclude(status=ApprovalRequest.Status.PENDING)[:30],
                "can_approve": actions.can_approve(self.request.user),
            },
        )


class DecideView(_PostView):
    permission = "payment.approve"
    fallback = "ledger:approvals"

    def act(self) -> str:
        approve = self.request.POST.get("decision") == "approve"
        actions.do_decide_approval(
            self.request.user, self.kwargs["pk"], approve=approve, note=self.request.POST.get("note", "")
        )
        return str(_("Approved and carried out.") if approve else _("Rejected."))


class ReconcileView(StaffMixin, View):
    """对账 — import a channel's daily file; the files reconciled with their counts."""

    permission = "payment.reconcile"
    request: StaffHttpRequest

    def context(self, form: ChannelFileForm | None = None) -> dict[str, Any]:
        return {
            "title": _("Channel reconciliation"),
            "form": form or ChannelFileForm(initial={"day": timezone.localdate()}, user=self.request.user),
            "files": restrict(
                ChannelFile.objects.select_related("channel", "imported_by"), self.request.user
            )[:50],
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "ledger/reconcile.html", self.context())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ChannelFileForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = do_import_channel_file(
                    self.request.user,
                    channel=form.cleaned_data["channel"],
                    day=form.cleaned_data["day"],
                    name=upload.name,
                    content=upload.read(),
                )
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(request, _("The file is reconciled."))
                return HttpResponseRedirect(reverse("ledger:file", args=[record.pk]))
        return render(request, "ledger/reconcile.html", self.context(form), status=400)


def _file(request: StaffHttpRequest, pk: int) -> ChannelFile:
    record = restrict(ChannelFile.objects.select_related("channel"), request.user).filter(pk=pk).first()
    if record is None:
        raise Http404(_("Not found or outside your data scope."))
    return record


REPORT_HEADERS = [
    _("Difference"),
    _("Transaction id"),
    _("Account number"),
    _("Their amount"),
    _("Our amount"),
    _("Receipt number"),
    _("Resolution"),
    _("Note"),
]


class FileView(StaffMixin, View):
    """对账结果 — counts and every difference with its resolution buttons; ``?export=xlsx`` the Excel report."""

    permission = "payment.reconcile"
    request: StaffHttpRequest

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = _file(self.request, pk)
        if request.GET.get("export") == "xlsx":
            title = f"对账 {record.channel.code} {record.day}"
            headers = [str(h) for h in REPORT_HEADERS]
            return workbook_response(f"reconciliation-{record.pk}", title, headers, report_rows(record))
        return render(
            request,
            "ledger/file.html",
            {
                "title": f"{_('Channel reconciliation')} {record.channel.name} {record.day}",
                "record": record,
                "differences": record.differences.select_related("payment")[:500],
                "missing_open": record.differences.filter(
                    kind=Difference.Kind.ONLY_THEIRS, resolution=Difference.Resolution.OPEN
                ).count(),
            },
        )


class PostMissingView(_PostView):
    """批量补记 — the file's open "only theirs" rows posted at once (:func:`do_post_file_missing`)."""

    permission = "payment.reconcile"
    fallback = "ledger:reconcile"

    def act(self) -> str:
        record = _file(self.request, self.kwargs["pk"])
        result = do_post_file_missing(self.request.user, record.pk)
        return f"已批量补记 {result.posted} 笔，共 {result.total} 元。"


class ResolveView(_PostView):
    permission = "payment.reconcile"
    fallback = "ledger:reconcile"

    def act(self) -> str:
        difference = (
            restrict(Difference.objects.all(), self.request.user).filter(pk=self.kwargs["pk"]).first()
        )
        if difference is None:
            raise NotFound(str(_("Not found or outside your data scope.")))
        do_resolve_difference(
            self.request.user,
            difference.pk,
            resolution=self.request.POST.get("resolution", ""),
            note=self.request.POST.get("note", ""),
        )
        return str(_("The difference is resolved."))


class DunningView(StaffMixin, View):
    """催费工作台 — accounts in arrears in the collector's scope with their next step (due now first): bulk reminders,
    ask for the disconnection approval, issue the 停电通知书 and record its delivery, order the disconnection; the
    pending approvals for approvers."""

    permission = ("arrears.dun", "disconnection.approve")
    request: StaffHttpRequest

    def get(self, request: HttpRequest) -> HttpResponse:
        from gridcare.ledger import dunning
        from gridcare.ledger.models import DunningCase, DunningStep

        rows = dunning.worklist(self.request.user)
        pending = restrict(
            DunningCase.objects.filter(status="open", approval_pending=True).select_related("account"),
            self.request.user,
        )
        return render(
            request,
            "ledger/dunning.html",
            {
                "title": _("Dunning workbench"),
                "rows": rows,
                "due": [r for r in rows if r.due_now],
                "pending": pending,
                "deliveries": DunningStep.Delivery.choices,
                "can_approve": has_perm(self.request.user, "disconnection.approve"),
                "can_dun": has_perm(self.request.user, "arrears.dun"),
            },
        )


class DunningActView(_PostView):
    """One button of the 催费工作台: the step named in the URL, on a case (or the chosen accounts for reminders)."""

    permission = ("arrears.dun", "disconnection.request", "disconnection.approve")
    fallback = "ledger:dunning"

    def act(self) -> str:
        from gridcare.ledger import dunning

        step = self.kwargs["step"]
        user, data = self.request.user, self.request.POST
        if step == "remind":
            ids = [int(v) for v in data.getlist("account") if v.isdigit()]
            sent = dunning.do_send_reminders(user, ids)
            return str(_("%(n)s reminders sent.") % {"n": sent})
        case = int(self.kwargs.get("pk") or 0)
        if step == "request":
            dunning.do_request_disconnection(user, case, reason=data.get("reason", ""))
            return str(_("The disconnection is waiting for approval."))
        if step in ("approve", "reject"):
            dunning.do_decide_disconnection(user, case, approve=step == "approve", note=data.get("note", ""))
            return str(_("Approved.") if step == "approve" else _("Rejected."))
        if step == "notice":
            dunning.do_issue_notice(user, case)
            return str(_("The disconnection notice is issued: print it and record its delivery."))
        if step == "deliver":
            dunning.do_record_delivery(
                user, case, how=data.get("how", ""), recipient=data.get("recipient", "")
            )
            return str(_("The delivery is recorded; the notice period runs from now."))
        if step == "disconnect":
            done = dunning.do_disconnect(user, case, how=data.get("how", "field"))
            return str(_("Disconnection ordered: %(outcome)s") % {"outcome": done.outcome})
        raise Http404


class NoticeView(StaffMixin, View):
    """停电通知书 (PDF) of a case in the user's scope."""

    permission = ("arrears.dun", "disconnection.approve")
    request: StaffHttpRequest

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        from gridcare.ledger.dunning import notice_pdf
        from gridcare.ledger.models import DunningCase

        case = (
            restrict(DunningCase.objects.select_related("account"), self.request.user).filter(pk=pk).first()
        )
        if case is None:
            raise Http404(_("Not found or outside your data scope."))
        try:
            pdf = notice_pdf(case)
        except GridcareError:
            raise Http404(_("The notice was not issued yet.")) from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="notice-{case.account.number}.pdf"'
        return response


def _instalment_lines(text: str) -> list[dict[str, str]]:
    """Instalments typed one per line as ``YYYY-MM-DD 金额`` (a space, comma or tab between)."""
    rows = []
    for line in (text or "").replace("，", ",").splitlines():
        parts = line.replace(",", " ").replace("\t", " ").split()
        if parts:
            rows.append({"due_date": parts[0], "amount": parts[1] if len(parts) > 1 else ""})
    return rows


class PlanListView(StaffMixin, View):
    """灵活付款方案 — the plans in scope with what each has received by its due dates; set a plan (account number,
    reason, one instalment per line); pending plans decided by someone else within their limit."""

    permission = "payment_plan.set"
    request: StaffHttpRequest

    def get(self, request: HttpRequest) -> HttpResponse:
        from gridcare.ledger.models import PaymentPlan
        from gridcare.ledger.plans import progress

        plans = list(
            restrict(
                PaymentPlan.objects.select_related("account", "created_by", "decided_by"), self.request.user
            )[:100]
        )
        for plan in plans:
            plan.progress = progress(plan)  # type: ignore[attr-defined]
        return render(
            request,
            "ledger/plans.html",
            {"title": _("Payment plans"), "plans": plans, "form": request.GET.get("account", "")},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        from gridcare.ledger.plans import do_set_payment_plan

        number = request.POST.get("account", "").strip()
        account = restrict(Account.objects.filter(number=number), self.request.user, write=True).first()
        try:
            if account is None:
                raise NotFound(f"户号「{number}」不存在或不在您的范围内。 (Unknown account.)")
            plan = do_set_payment_plan(
                self.request.user,
                account=account.pk,
                reason=request.POST.get("reason", ""),
                instalments=_instalment_lines(request.POST.get("instalments", "")),
            )
        except GridcareError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Payment plan of %(amount)s 元 set: %(status)s.")
                % {"amount": plan.amount, "status": plan.get_status_display()},
            )
        return HttpResponseRedirect(reverse("ledger:plans"))


class PlanDecideView(_PostView):
    permission = "payment_plan.set"
    fallback = "ledger:plans"

    def act(self) -> str:
        from gridcare.ledger.plans import do_decide_payment_plan

        approve = self.request.POST.get("decision") == "approve"
        do_decide_payment_plan(
            self.request.user, self.kwargs["pk"], approve=approve, note=self.request.POST.get("note", "")
        )
        return str(_("Approved.") if approve else _("Rejected."))
