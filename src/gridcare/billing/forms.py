"""The billing run's launch form (the action resolves every id through the starter's scope) and the selection of
the billing reports."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.billing.models import BillingRun
from gridcare.billing.review import PARAM_LABELS
from gridcare.core.scoped import ALL, ScopedForm
from gridcare.customers.models import ServicePoint
from gridcare.engine.plausibility import DEFAULT_PARAMS
from gridcare.org.models import OrgUnit
from gridcare.readings.models import Route


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


class ReportForm(ScopedForm):
    """电费报表 — which released bills the bill register and the sales summary cover."""

    period = forms.RegexField(
        label=_("Period"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        help_text=_("YYYY-MM, e.g. 2026-11"),
        error_messages={"invalid": _("Give the period as YYYY-MM.")},
    )
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=OrgUnit.objects.filter(kind__in=["company", "branch", "station"]).order_by("path"),
        required=False,
        empty_label=ALL,
    )
    route = forms.ModelChoiceField(
        label=_("Reading route"), queryset=Route.objects.order_by("number"), required=False, empty_label=ALL
    )
    customer_class = forms.ChoiceField(
        label=_("Customer class"),
        choices=[("", ALL), *ServicePoint.CustomerClass.choices],
        required=False,
    )


class RuleForm(forms.Form):
    """修改审核规则 — on/off and one whole-number field per parameter of the rule, within its bounds."""

    enabled = forms.BooleanField(label=_("Enabled"), required=False)

    def __init__(self, *args: Any, code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in DEFAULT_PARAMS[code]:
            label, low, high = PARAM_LABELS[name]
            self.fields[name] = forms.IntegerField(
                label=label,
                min_value=low,
                max_value=high,
                help_text=_("Default: %(value)s") % {"value": f"{DEFAULT_PARAMS[code][name]:,}"},
            )
