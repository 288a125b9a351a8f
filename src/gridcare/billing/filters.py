"""FilterSets shared by the billing screens and the REST API."""

from __future__ import annotations

from gridcare.billing.models import Bill, BillingRun
from gridcare.core.scoped import ScopedFilterSet


class RunFilter(ScopedFilterSet):
    class Meta:
        model = BillingRun
        fields = ["period", "status", "executor"]


class BillFilter(ScopedFilterSet):
    class Meta:
        model = Bill
        fields = ["period", "status", "kind", "run", "account"]
