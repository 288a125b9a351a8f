"""费控 screens: the prepaid accounts with their remaining balance, days left and status; an account's card
(estimate, alerts and switching commands, enrol / leave, the approval of an important customer's disconnection).
Every write goes through an action of :mod:`gridcare.ledger.prepaid_actions`."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Field, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.customers.models import Account
from gridcare.ledger import prepaid_actions
from gridcare.ledger.models import PrepaidAgreement, PrepaidEstimate, PrepaidEvent
from gridcare.web.views import StaffMixin, apply_error


class EnrolForm(forms.Form):
    account = forms.CharField(label=_("Account number"), max_length=20)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


def _latest(field: str) -> Subquery:
    return Subquery(
        PrepaidEstimate.objects.filter(account=OuterRef("account")).order_by("-day").values(field)[:1],
        output_field=cast(Field, PrepaidEstimate._meta.get_field(field)),
    )


STATUS_LABELS = dict(PrepaidEstimate.Status.choices)


class PrepaidListView(StaffMixin, View):
    """费控户 — every prepaid account in scope with its latest estimate; filter by status; enrol an account."""

    permission = ("prepaid.manage", "report.view")
    request: StaffHttpRequest

    def context(self, form: EnrolForm | None = None) -> dict[str, Any]:
        status = self.request.GET.get("status", "")
        rows = (
            restrict(PrepaidAgreement.objects.filter(active=True), self.request.user)
            .select_related("account", "account__org_unit")
            .annotate(
                est_day=_latest("day"),
                remaining=_latest("remaining"),
                days_left=_latest("days_left"),
                status=_latest("status"),
                source=_latest("source"),
            )
            .order_by("remaining", "account__number")
        )
        if status in STATUS_LABELS:
            rows = rows.filter(status=status)
        elif status == "off":
            rows = rows.filter(switched_off=True)
        page = Paginator(rows, 50).get_page(self.request.GET.get("page"))
        for row in page:
            row.status_label = STATUS_LABELS.get(getattr(row, "status", ""), "—")  # type: ignore[attr-defined]
        return {
            "title": _("Prepaid accounts"),
            "page": page,
            "status": status,
            "statuses": [*STATUS_LABELS.items(), ("off", _("Supply cut remotely"))],
            "form": form or EnrolForm(),
            "can_manage": has_perm(self.request.user, "prepaid.manage"),
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "ledger/prepaid_list.html", self.context())

    def post(self, request: HttpRequest) -> HttpResponse:
        if not has_perm(self.request.user, "prepaid.manage"):
            raise Http404(_("Not found or outside your data scope."))
        form = EnrolForm(request.POST)
        if form.is_valid():
            try:
                agreement = prepaid_actions.do_enrol_prepaid(self.request.user, **form.cleaned_data)
            except GridcareError as error:
                apply_error(form, error)
            else:
                messages.success(request, _("The account is prepaid from today."))
                return HttpResponseRedirect(reverse("ledger:prepaid-account", args=[agreement.account_id]))
        return render(request, "ledger/prepaid_list.html", self.context(form), status=400)


class PrepaidAccountView(StaffMixin, View):
    """费控卡片 — the account's agreement, latest estimate, its alerts and commands; leave; decide a disconnection."""

    permission = ("prepaid.manage", "report.view", "disconnection.approve_important")
    model = Account  # the card's id is the account's (the authorization matrix checks its scope)
    request: StaffHttpRequest

    def _account(self, pk: int) -> Account:
        account = (
            restrict(Account.objects.select_related("org_unit"), self.request.user).filter(pk=pk).first()
        )
        if account is None:
            raise Http404(_("Not found or outside your data scope."))
        return account

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self._account(pk)
        summary = prepaid_actions.prepaid_summary(account)
        history = PrepaidEstimate.objects.filter(account=account).order_by("-day")[:14]
        events = (
            PrepaidEvent.objects.filter(account=account)
            .select_related("decided_by")
            .order_by("-created_at", "-id")[:30]
        )
        return render(
            request,
            "ledger/prepaid_account.html",
            {
                "title": f"{_('Prepaid account')} {account.number}",
                "account": account,
                "summary": summary,
                "history": history,
                "events": events,
                "can_manage": has_perm(self.request.user, "prepaid.manage"),
                "can_approve": has_perm(self.request.user, "disconnection.approve_important"),
            },
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = self._account(pk)
        what = request.POST.get("what", "")
        note = request.POST.get("note", "")
        try:
            if what == "leave":
                prepaid_actions.do_leave_prepaid(self.request.user, account=account, note=note)
                messages.success(request, _("The prepaid agreement has ended."))
            elif what in ("approve", "reject"):
                event = int(request.POST.get("event", "0") or 0)
                prepaid_actions.do_decide_prepaid_disconnect(
                    self.request.user, event, approve=what == "approve", note=note
                )
                messages.success(request, _("Approved.") if what == "approve" else _("Rejected."))
            else:
                messages.error(request, _("Unknown request."))
        except NotFound:
            raise Http404(_("Not found or outside your data scope.")) from None
        except GridcareError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(reverse("ledger:prepaid-account", args=[account.pk]))
