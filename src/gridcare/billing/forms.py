"""The billing run's launch form (the action resolves every id through the starter's scope) and the selection of
the billing reports."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.billing.models import BillingRun, Rebill
from gridcare.billing.review import PARAM_LABELS
from gridcare.core.scoped import ALL, ScopedForm
from gridcare.customers.models import ServicePoint
from gridcare.engine.plausibility import DEFAULT_PARAMS
from gridcare.org.models import OrgUnit
from gridcare.readings.models import Route
from gridcare.tariffs.models import Tariff


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


class RebillForm(forms.Form):
    """退补申请 — the type, the reason, the bills (from a bill's page, or an account and periods) and the corrected
    inputs of the type; the action checks them all and says what is wrong where."""

    kind = forms.ChoiceField(label=_("Rebill type"), choices=Rebill.Kind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    account = forms.CharField(
        label=_("Account number"),
        required=False,
        help_text=_("Not needed when you start from a bill's page."),
    )
    periods = forms.CharField(
        label=_("Periods"),
        required=False,
        help_text=_(
            "YYYY-MM, several separated by commas; empty for a violation or theft whose period is unknown."
        ),
    )
    active_total = forms.DecimalField(
        label=_("Corrected active total (kWh)"), required=False, decimal_places=3
    )
    active_sharp = forms.DecimalField(
        label=_("Corrected critical peak (kWh)"), required=False, decimal_places=3
    )
    active_peak = forms.DecimalField(label=_("Corrected peak (kWh)"), required=False, decimal_places=3)
    active_flat = forms.DecimalField(label=_("Corrected flat (kWh)"), required=False, decimal_places=3)
    active_valley = forms.DecimalField(label=_("Corrected valley (kWh)"), required=False, decimal_places=3)
    reactive_total = forms.DecimalField(
        label=_("Corrected reactive (kvarh)"), required=False, decimal_places=3
    )
    tariff_code = forms.ChoiceField(
        label=_("Tariff that applies"),
        required=False,
        help_text=_("Correction or tariff-class violation: the tariff the bills are re-rated with."),
    )
    error_pct = forms.DecimalField(
        label=_("Meter error (%)"),
        required=False,
        decimal_places=2,
        help_text=_("Meter error: positive when the meter ran fast (the customer is refunded)."),
    )
    verified_on = forms.DateField(label=_("Last verification"), required=False, help_text=_("YYYY-MM-DD"))
    corrected_on = forms.DateField(
        label=_("Error corrected on"), required=False, help_text=_("YYYY-MM-DD; empty: today")
    )
    violation = forms.ChoiceField(
        label=_("Violation"),
        required=False,
        choices=[("", "—"), ("tariff", _("Tariff-class misuse")), ("capacity", _("Capacity overrun"))],
    )
    overrun_kva = forms.DecimalField(label=_("Capacity overrun (kVA)"), required=False, decimal_places=3)
    stolen_kwh = forms.DecimalField(label=_("Stolen energy (kWh)"), required=False, decimal_places=3)
    period_unknown = forms.BooleanField(label=_("Period unknown"), required=False)
    rated_kw = forms.DecimalField(
        label=_("Rated capacity (kW)"),
        required=False,
        decimal_places=3,
        help_text=_("Theft with the period unknown; empty: the account's capacity."),
    )
    penalty_multiple = forms.DecimalField(
        label=_("Penalty multiple"),
        required=False,
        decimal_places=2,
        help_text=_("Empty: the rule's multiple (violation 2×, capacity overrun 3×, theft 3×)."),
    )
    submit = forms.BooleanField(label=_("Submit at once"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = Tariff.objects.order_by("code").values_list("code", "name")
        field = self.fields["tariff_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *[(c, f"{c} {n}") for c, n in codes]]


def rebill_params(data: dict[str, Any]) -> dict[str, Any]:
    """The corrected inputs of a valid :class:`RebillForm`, as the action takes them."""
    text = {k: None if data.get(k) is None else str(data[k]) for k in PARAM_FIELDS}
    registers = {r: text[r] for r in REGISTER_FIELDS if text[r] is not None}
    return {
        "registers": registers,
        "tariff_code": data.get("tariff_code") or None,
        "error_pct": text["error_pct"],
        "verified_on": text["verified_on"],
        "corrected_on": text["corrected_on"],
        "violation": data.get("violation") or None,
        "overrun_kva": text["overrun_kva"],
        "stolen_kwh": text["stolen_kwh"],
        "period_unknown": bool(data.get("period_unknown")),
        "rated_kw": text["rated_kw"],
        "penalty_multiple": text["penalty_multiple"],
    }


REGISTER_FIELDS = (
    "active_total",
    "active_sharp",
    "active_peak",
    "active_flat",
    "active_valley",
    "reactive_total",
)
PARAM_FIELDS = (
    *REGISTER_FIELDS,
    "error_pct",
    "verified_on",
    "corrected_on",
    "overrun_kva",
    "stolen_kwh",
    "rated_kw",
    "penalty_multiple",
)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


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


def _month_label(month: int) -> str:
    return str(_("Month %(month)s") % {"month": month})


class SalesPlanForm(ScopedForm):
    """售电计划 — one unit's twelve months of a year: planned kWh and planned revenue (元) per month; a month left
    empty keeps its plan. The figures go to the action unchecked beyond being numbers: it says what is wrong."""

    org_unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=OrgUnit.objects.filter(is_active=True).order_by("path"),
    )
    year = forms.IntegerField(label=_("Year"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for month in range(1, 13):
            label = _month_label(month)
            self.fields[f"kwh_{month}"] = forms.DecimalField(
                label=f"{label} {_('planned energy')}（kWh）", required=False
            )
            self.fields[f"revenue_{month}"] = forms.DecimalField(
                label=f"{label} {_('planned revenue')}（元）", required=False
            )

    def months(self) -> dict[int, tuple[Any, Any]]:
        """The months given (both figures, or one and the other left to the action to refuse)."""
        data = self.cleaned_data
        given: dict[int, tuple[Any, Any]] = {}
        for month in range(1, 13):
            kwh, revenue = data.get(f"kwh_{month}"), data.get(f"revenue_{month}")
            if kwh is not None or revenue is not None:
                given[month] = (kwh, revenue)
        return given

    def month_rows(self) -> list[tuple[str, Any, Any]]:
        """(month label, kWh field, revenue field) for the template's twelve lines."""
        return [(_month_label(m), self[f"kwh_{m}"], self[f"revenue_{m}"]) for m in range(1, 13)]
