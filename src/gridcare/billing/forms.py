"""The billing run's launch form (the action resolves every id through the starter's scope)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.billing.models import BillingRun
from gridcare.core.scoped import ScopedForm
from gridcare.org.models import OrgUnit


class RunForm(ScopedForm):
    period = forms.RegexField(
        label=_("Period"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        help_text=_("YYYY-MM, e.g. 2026-11"),
        error_messages={"invalid": _("Give the period as YYYY-MM.")},
    )
    org_unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=OrgUnit.objects.filter(kind__in=["company", "branch", "station"]).order_by("path"),
        required=False,
        help_text=_("Leave empty to bill the whole company."),
    )
    executor = forms.ChoiceField(label=_("Executor"), choices=BillingRun.Executor.choices, initial="inline")
