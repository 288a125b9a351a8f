"""FilterSets shared by the key-account screens and the REST API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedFilterSet
from gridcare.keyaccounts.models import Collision, KeyAccount, Prospect, VisitPlanItem


class ProspectFilter(ScopedFilterSet):
    """备案客户 — search by name, number or credit code (within what the user may see), stage, status."""

    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = Prospect
        fields = ["q", "stage", "status", "industry"]

    def search(self, queryset: QuerySet[Prospect], name: str, value: str) -> QuerySet[Prospect]:
        text = value.strip()[:100]
        if not text:
            return queryset
        return queryset.filter(
            Q(name__icontains=text) | Q(number__startswith=text) | Q(credit_code=text.upper())
        )


class KeyAccountFilter(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = KeyAccount
        fields = ["q", "grade"]

    def search(self, queryset: QuerySet[KeyAccount], name: str, value: str) -> QuerySet[KeyAccount]:
        text = value.strip()[:100]
        if not text:
            return queryset
        return queryset.filter(Q(account__name__icontains=text) | Q(account__number__startswith=text))


class PlanFilter(ScopedFilterSet):
    class Meta:
        model = VisitPlanItem
        fields = ["year", "status"]


class CollisionFilter(ScopedFilterSet):
    class Meta:
        model = Collision
        fields = ["decision", "reason"]
