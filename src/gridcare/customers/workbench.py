"""Customers on the workbench: new customers of the month (a unit figure) and the customer actions in words."""

from __future__ import annotations

from typing import Any

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gridcare.customers.models import CapacityPeriod, Customer
from gridcare.web.workbench import KPI, Month, scoped
from gridcare.web.workbench import Value as KPIValue


def new_customers(user: Any, unit: Any, month: Month) -> KPIValue:
    """新增客户数 — customers registered in the month."""
    return scoped(Customer.objects.all(), user, unit, person=()).filter(month.range_q("created_at")).count()


def new_capacity(user: Any, unit: Any, month: Month) -> KPIValue:
    """新增合同容量 — kVA added in the month: each capacity period starting in it, less the period it follows
    (增容 counts its increase, a new connection its whole capacity, 减容 subtracts)."""
    before = CapacityPeriod.objects.filter(
        service_point=OuterRef("service_point"), valid_to=OuterRef("valid_from")
    ).values("capacity_kva")[:1]
    money = DecimalField(max_digits=14, decimal_places=2)
    added = (
        scoped(CapacityPeriod.objects.all(), user, unit, person=())
        .filter(month.date_range_q("valid_from"))
        .aggregate(
            kva=Sum(
                F("capacity_kva") - Coalesce(Subquery(before), Value(0), output_field=money),
                output_field=money,
            )
        )["kva"]
    )
    return added if added is not None else 0


def _customers_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("customers:customer-list")


KPIS = [
    KPI("new_customers", new_customers, _customers_link, per_person=False),
    KPI("new_capacity", new_capacity, _customers_link, per_person=False),
]

VERBS = {
    "customers.create_customer": _("Registered customer"),
    "customers.update_customer": _("Updated customer"),
    "customers.add_contact": _("Added a contact to"),
    "customers.unmask": _("Viewed the full data of"),
    "customers.create_account": _("Opened account"),
    "customers.update_account": _("Updated account"),
    "customers.create_service_point": _("Created service point"),
    "customers.update_service_point": _("Updated service point"),
    "customers.change_tariff": _("Changed the tariff of"),
    "customers.change_capacity": _("Changed the capacity of"),
    "customers.change_demand": _("Changed the demand of"),
    "customers.change_class": _("Changed the customer class of"),
    "customers.create_contract": _("Signed contract"),
    "customers.terminate_contract": _("Terminated contract"),
    "customers.import": _("Imported customers"),
    "customers.demo_chunk": _("Loaded demo customers"),
    "customers.import_account": _("Imported account"),
}
