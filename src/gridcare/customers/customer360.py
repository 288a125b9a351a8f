"""The customers app's own tabs of the customer 360 page: accounts, service points, contracts, history."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.core.models import AuditEntry
from gridcare.customers.models import (
    Account,
    Contact,
    Customer,
    ServicePoint,
    SupplyContract,
)
from gridcare.customers.tabs import CustomerTab


def accounts_tab(request: HttpRequest, customer: Customer) -> str:
    accounts = restrict(Account.objects.filter(customer=customer), request.user).select_related(
        "org_unit", "account_manager"
    )
    return render_to_string(
        "customers/tab_accounts.html",
        {
            "customer": customer,
            "accounts": accounts,
            "can_manage": has_perm(request.user, "customer.manage"),
            "can_edit_accounts": any(
                has_perm(request.user, code)
                for code in ("customer.manage", "account.rate_credit", "account.change_status")
            ),
        },
        request=request,
    )


def service_points_tab(request: HttpRequest, customer: Customer) -> str:
    points = restrict(ServicePoint.objects.filter(account__customer=customer), request.user).select_related(
        "account", "org_unit"
    )
    return render_to_string(
        "customers/tab_service_points.html",
        {"customer": customer, "points": points, "can_manage": has_perm(request.user, "customer.manage")},
        request=request,
    )


def contracts_tab(request: HttpRequest, customer: Customer) -> str:
    contracts = restrict(
        SupplyContract.objects.filter(account__customer=customer), request.user
    ).select_related("account")
    accounts = restrict(Account.objects.filter(customer=customer), request.user)
    return render_to_string(
        "customers/tab_contracts.html",
        {
            "contracts": contracts,
            "accounts": accounts,
            "can_manage": has_perm(request.user, "customer.manage"),
        },
        request=request,
    )


def history_entries(customer: Customer, limit: int = 100) -> list[AuditEntry]:
    """变更历史 — audit rows of the customer, its contacts, accounts, service points and their meters."""
    from django.db.models import Q

    account_ids = list(Account.objects.filter(customer=customer).values_list("pk", flat=True))
    point_ids = list(ServicePoint.objects.filter(account_id__in=account_ids).values_list("pk", flat=True))
    contract_ids = list(
        SupplyContract.objects.filter(account_id__in=account_ids).values_list("pk", flat=True)
    )
    contact_ids = list(Contact.objects.filter(customer=customer).values_list("pk", flat=True))
    targets = {
        Customer: [customer.pk],
        Contact: contact_ids,
        Account: account_ids,
        ServicePoint: point_ids,
        SupplyContract: contract_ids,
    }
    query = Q()
    for model, ids in targets.items():
        if ids:
            query |= Q(object_type=model._meta.label_lower, object_id__in=[str(i) for i in ids])
    from gridcare.metering.models import Meter

    meter_ids = list(
        Meter.objects.filter(installations__service_point_id__in=point_ids)
        .values_list("pk", flat=True)
        .distinct()
    )
    if meter_ids:
        query |= Q(object_type=Meter._meta.label_lower, object_id__in=[str(i) for i in meter_ids])
    return list(AuditEntry.objects.filter(query).order_by("-at", "-id")[:limit])


def history_tab(request: HttpRequest, customer: Customer) -> str:
    return render_to_string(
        "customers/tab_history.html", {"entries": history_entries(customer)}, request=request
    )


TABS = [
    CustomerTab("accounts", _("Accounts"), "customer.view", accounts_tab, order=10),
    CustomerTab("service_points", _("Service points"), "customer.view", service_points_tab, order=20),
    CustomerTab("contracts", _("Supply contracts"), "customer.view", contracts_tab, order=30),
    CustomerTab("history", _("History"), "customer.view", history_tab, order=90),
]
