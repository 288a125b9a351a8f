"""Forms of the tariff screens: format checks only; the engine validates definitions and usage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedForm

DATE = forms.DateInput(attrs={"type": "date"})


class TariffUploadForm(ScopedForm):
    file = forms.FileField(label=_("Definition file (YAML or JSON)"))
    kind = forms.ChoiceField(
        label=_("Format"), choices=[("cn", _("gridcare definition")), ("urdb", _("OpenEI URDB JSON"))]
    )
    code = forms.CharField(label=_("Code (URDB only, optional)"), max_length=64, required=False)


class VersionUploadForm(ScopedForm):
    file = forms.FileField(label=_("Version definition (YAML or JSON)"))


class QuoteForm(ScopedForm):
    """电费试算: enter what the meter registers say, get the itemised bill."""

    period_start = forms.DateField(label=_("Period start"), widget=DATE)
    period_end = forms.DateField(label=_("Period end (exclusive)"), widget=DATE)
    total_kwh = forms.DecimalField(
        label=_("Total kWh (non-TOU)"), min_value=0, required=False, decimal_places=3
    )
    critical_kwh = forms.DecimalField(
        label=_("Critical peak kWh"), min_value=0, required=False, decimal_places=3
    )
    peak_kwh = forms.DecimalField(label=_("Peak kWh"), min_value=0, required=False, decimal_places=3)
    flat_kwh = forms.DecimalField(label=_("Flat kWh"), min_value=0, required=False, decimal_places=3)
    valley_kwh = forms.DecimalField(label=_("Valley kWh"), min_value=0, required=False, decimal_places=3)
    reactive_kvarh = forms.DecimalField(
        label=_("Reactive kvarh"), min_value=0, required=False, decimal_places=3
    )
    capacity_kva = forms.DecimalField(label=_("Capacity kVA"), min_value=0, required=False, decimal_places=3)
    contracted_demand_kw = forms.DecimalField(
        label=_("Contracted demand kW"), min_value=0, required=False, decimal_places=3
    )
    max_demand_kw = forms.DecimalField(
        label=_("Maximum demand kW"), min_value=0, required=False, decimal_places=3
    )
    basic_basis = forms.ChoiceField(
        label=_("Basic charge by"),
        required=False,
        choices=[("", "—"), ("capacity", _("Capacity (kVA)")), ("demand", _("Maximum demand (kW)"))],
    )
    tier_ytd_kwh = forms.DecimalField(
        label=_("kWh so far this tier year"), min_value=0, required=False, decimal_places=3
    )

    REGISTERS = ("critical", "peak", "flat", "valley", "total")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end <= start:
            self.add_error("period_end", _("The period end must be after its start."))
        if not any(data.get(f"{r}_kwh") is not None for r in self.REGISTERS):
            raise forms.ValidationError(_("Enter at least one register reading (kWh)."))
        return data

    def energy(self) -> dict[str, Decimal]:
        return {
            r: self.cleaned_data[f"{r}_kwh"]
            for r in self.REGISTERS
            if self.cleaned_data.get(f"{r}_kwh") is not None
        }


class CompareBasicForm(ScopedForm):
    """两部制基本电费比较: capacity-based vs demand-based over 12 months of maximum demand."""

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    capacity_kva = forms.DecimalField(label=_("Capacity kVA"), min_value=Decimal("0.001"), decimal_places=3)
    contracted_demand_kw = forms.DecimalField(
        label=_("Contracted demand kW"), min_value=Decimal("0.001"), decimal_places=3
    )
    max_demand_kw = forms.CharField(
        label=_("Maximum demand per month (kW, 12 values)"),
        help_text=_("Twelve numbers separated by commas or spaces, January first."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_max_demand_kw(self) -> list[Decimal]:
        raw = self.cleaned_data["max_demand_kw"].replace("，", ",").replace(",", " ").split()
        values: list[Decimal] = []
        for position, item in enumerate(raw, start=1):
            try:
                value = Decimal(item)
            except ArithmeticError:
                raise forms.ValidationError(
                    _("Value %(n)s (%(v)s) is not a number.") % {"n": position, "v": item}
                ) from None
            if not value.is_finite() or value < 0:
                raise forms.ValidationError(_("Value %(n)s must be zero or more.") % {"n": position})
            values.append(value)
        if len(values) != 12:
            raise forms.ValidationError(_("Twelve values are needed, got %(n)s.") % {"n": len(values)})
        return values
