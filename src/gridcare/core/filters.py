from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import AuditEntry
from gridcare.core.scoped import ScopedFilterSet
from gridcare.org.models import User


class AuditEntryFilter(ScopedFilterSet):
    """Search the audit log by person, object, action and time (shared by the screen and the API)."""

    actor = django_filters.ModelChoiceFilter(label=_("Person"), queryset=User.objects.all())
    action = django_filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    object_type = django_filters.CharFilter(label=_("Object type"))
    object_id = django_filters.CharFilter(label=_("Object id"))
    at_from = django_filters.DateFilter(
        label=_("From"),
        field_name="at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    at_to = django_filters.DateFilter(
        label=_("To"),
        field_name="at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    request_id = django_filters.CharFilter(label=_("Request id"))

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "at_from", "at_to", "request_id"]
