from __future__ import annotations

import django_filters
from django import forms
from django.apps import apps
from django.utils.choices import CallableChoiceIterator
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import AuditEntry
from gridcare.core.scoped import ALL, AutocompleteFilter, ScopedFilterSet
from gridcare.org.models import User


def object_type_choices() -> list[tuple[str, str]]:
    """全部, then the kinds of record by their names (客户, 工单 …), not their table labels."""
    kinds = sorted(
        ((model._meta.label_lower, str(model._meta.verbose_name)) for model in apps.get_models()),
        key=lambda choice: choice[1],
    )
    return [("", str(ALL)), *kinds]


class AuditEntryFilter(ScopedFilterSet):
    """Search the audit log by person, record, action and time (shared by the screen and the API). The
    record's id stays an API filter (links from a record's history), not a box on the screen."""

    actor = AutocompleteFilter(
        label=_("Person"), queryset=User.objects.all(), url_name="org:staff-autocomplete"
    )
    action = django_filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    # picked from the record kinds on screen; any label still accepted (rows such as ``import.customers``)
    object_type = django_filters.CharFilter(
        label=_("Record kind"), widget=forms.Select(choices=CallableChoiceIterator(object_type_choices))
    )
    object_repr = django_filters.CharFilter(label=_("Record"), lookup_expr="icontains")
    object_id = django_filters.CharFilter(label=_("Object id"), widget=forms.HiddenInput)
    at_from = django_filters.DateFilter(label=_("From"), field_name="at", lookup_expr="date__gte")
    at_to = django_filters.DateFilter(label=_("To"), field_name="at", lookup_expr="date__lte")
    request_id = django_filters.CharFilter(label=_("Request id"))

    class Meta:
        model = AuditEntry
        fields = [
            "actor",
            "action",
            "object_type",
            "object_repr",
            "object_id",
            "at_from",
            "at_to",
            "request_id",
        ]
