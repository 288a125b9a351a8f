"""The work-order tab of the customer 360 page (客户全景视图): the customer's orders the viewer may see."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import restrict
from gridcare.customers.models import Customer
from gridcare.customers.tabs import CustomerTab
from gridcare.service.models import WorkOrder


def render_orders(request: HttpRequest, customer: Customer) -> str:
    orders = restrict(WorkOrder.objects.select_related("unit", "assignee"), request.user).filter(
        customer_id=customer.pk
    )
    return render_to_string(
        "service/customer_tab.html",
        {"orders": orders[:50], "total": orders.count(), "customer": customer},
        request=request,
    )


TABS = [
    CustomerTab(
        key="work-orders", label=_("Work orders"), permission="customer.view", render=render_orders, order=40
    )
]
