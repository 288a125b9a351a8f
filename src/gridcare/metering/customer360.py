"""The metering app's tab of the customer 360 page: meters installed at the customer's service points."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import restrict
from gridcare.customers.tabs import CustomerTab
from gridcare.metering.models import Installation


def meters_tab(request: HttpRequest, customer) -> str:
    installations = (
        restrict(Installation.objects.filter(service_point__account__customer=customer), request.user)
        .select_related("meter", "service_point")
        .prefetch_related("reads")
    )
    return render_to_string(
        "metering/tab_meters.html",
        {"installations": installations, "today": timezone.localdate()},
        request=request,
    )


TABS = [CustomerTab("meters", _("Meters"), "meter.view", meters_tab, order=40)]
