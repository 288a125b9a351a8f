"""FilterSets shared by the staff screens and the REST API of the organisation app."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedFilterSet
from gridcare.org.models import OrgUnit, Position, User


class OrgUnitFilter(ScopedFilterSet):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=OrgUnit.Kind.choices)
    under = django_filters.CharFilter(label=_("Path prefix"), field_name="path", lookup_expr="startswith")

    class Meta:
        model = OrgUnit
        fields = ["name", "kind", "is_active", "under"]


class PositionFilter(ScopedFilterSet):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")

    class Meta:
        model = Position
        fields = ["name", "level", "data_scope"]


class StaffFilter(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Name / username / employee no."), method="search")
    under = django_filters.CharFilter(
        label=_("Unit path prefix"), field_name="org_unit__path", lookup_expr="startswith"
    )

    class Meta:
        model = User
        fields = ["q", "position", "org_unit", "is_active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(full_name__icontains=value) | Q(username__icontains=value) | Q(employee_no__icontains=value)
        )
