"""FilterSets shared by the customer screens and the REST API (one definition for both)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.api.fields import MAX_DAYS_AHEAD
from gridcare.core.scoped import AutocompleteFilter, ScopedFilterSet
from gridcare.customers.models import Account, Customer, ServicePoint, SupplyContract
from gridcare.org.filters import UnitSubtreeFilter, staff_filter


def customer_filter(field_name: str = "customer") -> AutocompleteFilter:
    """A customer picked by searching number or name (never a select of every customer)."""
    return AutocompleteFilter(
        label=_("Customer"),
        field_name=field_name,
        queryset=Customer.objects.all(),
        url_name="customers:customer-autocomplete",
    )


def account_filter(field_name: str = "account") -> AutocompleteFilter:
    """An account (户号) picked by searching number or name."""
    return AutocompleteFilter(
        label=_("Account"),
        field_name=field_name,
        queryset=Account.objects.all(),
        url_name="customers:account-autocomplete",
    )


def service_point_filter(field_name: str = "service_point") -> AutocompleteFilter:
    """A service point (用电地址) picked by searching number or address."""
    return AutocompleteFilter(
        label=_("Service point"),
        field_name=field_name,
        queryset=ServicePoint.objects.all(),
        url_name="customers:servicepoint-autocomplete",
    )


class CustomerFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Customer number"), lookup_expr="startswith")
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    under = UnitSubtreeFilter(label=_("Managing unit (and below)"))

    class Meta:
        model = Customer
        fields = ["number", "name", "kind", "id_type", "under"]


class AccountFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Account number"), lookup_expr="startswith")
    name = django_filters.CharFilter(label=_("Account name"), lookup_expr="icontains")
    customer = customer_filter()
    under = UnitSubtreeFilter()
    account_manager = staff_filter(_("Account manager"), "account_manager")

    class Meta:
        model = Account
        fields = [
            "number",
            "name",
            "customer",
            "under",
            "is_key_account",
            "account_manager",
            "billing_cycle",
            "payment_method",
            "credit_rating",
            "status",
        ]


class ServicePointFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Service point number"), lookup_expr="startswith")
    address = django_filters.CharFilter(label=_("Address"), lookup_expr="icontains")
    account_number = django_filters.CharFilter(
        label=_("Account number"), field_name="account__number", lookup_expr="startswith"
    )
    capacity_min = django_filters.NumberFilter(
        label=_("Capacity from (kVA)"), field_name="capacity_kva", lookup_expr="gte"
    )
    capacity_max = django_filters.NumberFilter(
        label=_("Capacity to (kVA)"), field_name="capacity_kva", lookup_expr="lte"
    )
    account = account_filter()
    under = UnitSubtreeFilter()

    class Meta:
        model = ServicePoint
        fields = [
            "number",
            "address",
            "account",
            "account_number",
            "under",
            "voltage_level",
            "customer_class",
            "metering_class",
            "area_class",
            "is_important",
            "tariff_code",
            "capacity_min",
            "capacity_max",
        ]


class ContractFilter(ScopedFilterSet):
    number = django_filters.CharFilter(label=_("Contract number"), lookup_expr="startswith")
    expiring_within = django_filters.NumberFilter(
        label=_("Expiring within (days)"),
        method="expiring",
        min_value=0,
        max_value=MAX_DAYS_AHEAD,
        decimal_places=0,
    )
    valid_to_before = django_filters.DateFilter(
        label=_("Term to before"), field_name="valid_to", lookup_expr="lte"
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=SupplyContract.State.choices, method="by_state"
    )
    account = account_filter()

    class Meta:
        model = SupplyContract
        fields = ["number", "account", "status", "expiring_within", "valid_to_before"]

    def by_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Filter by the state staff read (已到期 included), not the stored status."""
        return queryset.filter(SupplyContract.state_q(value, timezone.localdate()))

    def expiring(self, queryset: QuerySet, name: str, value: float) -> QuerySet:
        today = timezone.localdate()
        return queryset.filter(
            status=SupplyContract.Status.ACTIVE,
            valid_to__gte=today,
            valid_to__lte=today + dt.timedelta(days=int(value)),
        )
