"""FilterSets shared by the staff screens and the REST API of the organisation app."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gridcare.core.scoped import AutocompleteFilter, ScopedFilterSet
from gridcare.org.models import OrgUnit, Position, User


class UnitTreeChoiceField(ModelChoiceField):
    """Units listed in tree order, each indented under its parent, so the list reads like the org chart."""

    def label_from_instance(self, obj: Any) -> str:
        return "\u3000" * max(obj.depth, 0) + obj.name


@extend_schema_field(OpenApiTypes.INT)  # the unit's id (the schema cannot guess it from a method filter)
class UnitSubtreeFilter(django_filters.ModelChoiceFilter):
    """A unit picked from the org chart, matching it and every unit below it (本单位及下属) — instead of a
    typed path prefix. ``path_field`` is the lookup to the filtered rows' unit path."""

    field_class = UnitTreeChoiceField

    def __init__(self, *args: Any, path_field: str = "org_unit__path", **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Unit (and below)"))
        kwargs.setdefault("queryset", OrgUnit.objects.order_by("path"))
        super().__init__(*args, **kwargs)
        self.path_field = path_field

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.path_field}__startswith": value.path})


def staff_filter(label: Any, field_name: str) -> AutocompleteFilter:
    """A person picked by searching names (the staff list can be long)."""
    return AutocompleteFilter(
        label=label, field_name=field_name, queryset=User.objects.all(), url_name="org:staff-autocomplete"
    )


class OrgUnitFilter(ScopedFilterSet):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=OrgUnit.Kind.choices)
    under = UnitSubtreeFilter(path_field="path")

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
    under = UnitSubtreeFilter()

    class Meta:
        model = User
        fields = ["q", "position", "under", "is_active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(full_name__icontains=value) | Q(username__icontains=value) | Q(employee_no__icontains=value)
        )
