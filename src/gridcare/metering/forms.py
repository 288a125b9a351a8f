"""Forms of the metering screens: format only; the rules live in the actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedForm
from gridcare.customers.models import ServicePoint
from gridcare.metering.models import Installation, Meter, OnSiteTest, Register
from gridcare.org.models import OrgUnit

DATE = forms.DateInput(attrs={"type": "date"})


class ReadsMixin(ScopedForm):
    """One optional field per register; the action insists on every register the meter has."""

    prefix_reads = "read"

    def reads(self, prefix: str) -> dict[str, Any]:
        return {
            register: self.cleaned_data[f"{prefix}_{register}"]
            for register in Register.values
            if self.cleaned_data.get(f"{prefix}_{register}") is not None
        }


def read_fields(prefix: str, label: Any) -> dict[str, forms.Field]:
    return {
        f"{prefix}_{value}": forms.DecimalField(
            label=f"{label} · {register_label}", max_digits=16, decimal_places=2, required=False
        )
        for value, register_label in Register.choices
    }


class MeterForm(ScopedForm):
    asset_no = forms.CharField(label=_("Asset number"), max_length=32)
    barcode = forms.CharField(label=_("Barcode"), max_length=32)
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=80)
    model_code = forms.CharField(label=_("Model"), max_length=40)
    kind = forms.ChoiceField(label=_("Meter kind"), choices=Meter.Kind.choices)
    accuracy_class = forms.ChoiceField(label=_("Accuracy class"), choices=Meter.AccuracyClass.choices)
    phases = forms.TypedChoiceField(
        label=_("Phases"), choices=[(1, _("Single-phase")), (3, _("Three-phase"))], coerce=int
    )
    rated_current = forms.CharField(label=_("Rated current"), max_length=20, initial="5(60)A")
    register_digits = forms.IntegerField(label=_("Register digits"), initial=6)
    registers = forms.MultipleChoiceField(
        label=_("Registers"),
        choices=Register.choices,
        initial=[Register.ACTIVE_TOTAL],
        widget=forms.CheckboxSelectMultiple,
    )
    ct_ratio = forms.IntegerField(label=_("CT ratio"), initial=1)
    pt_ratio = forms.IntegerField(label=_("PT ratio"), initial=1)
    verified_on = forms.DateField(label=_("Verified on"), widget=DATE, required=False)
    org_unit = forms.ModelChoiceField(
        label=_("Holding unit"), queryset=OrgUnit.objects.filter(is_active=True)
    )


class InstallForm(ReadsMixin):
    service_point = forms.CharField(label=_("Service point number"), max_length=24)
    installed_on = forms.DateField(label=_("Installed on"), widget=DATE)
    reason = forms.ChoiceField(label=_("Reason"), choices=Installation.Reason.choices)
    locals().update(read_fields("initial", _("Initial read")))

    def clean_service_point(self) -> ServicePoint:
        number = self.cleaned_data["service_point"].strip()
        point = ServicePoint.objects.filter(number=number).first()
        if point is None:
            raise forms.ValidationError(_("No service point with this number."))
        return point


class RemoveForm(ReadsMixin):
    removed_on = forms.DateField(label=_("Removed on"), widget=DATE)
    reason = forms.ChoiceField(
        label=_("Reason"), choices=Installation.Reason.choices, initial=Installation.Reason.CLOSE
    )
    locals().update(read_fields("final", _("Final read")))


class ReplaceForm(ReadsMixin):
    new_meter = forms.CharField(label=_("New meter asset number"), max_length=32)
    replaced_on = forms.DateField(label=_("Replaced on"), widget=DATE)
    reason = forms.ChoiceField(
        label=_("Reason"), choices=Installation.Reason.choices, initial=Installation.Reason.REPLACE
    )
    locals().update(read_fields("final", _("Final read")))
    locals().update(read_fields("initial", _("Initial read")))

    def clean_new_meter(self) -> Meter:
        meter = Meter.objects.filter(asset_no=self.cleaned_data["new_meter"].strip()).first()
        if meter is None:
            raise forms.ValidationError(_("No meter with this asset number."))
        return meter


class TestForm(ScopedForm):
    tested_on = forms.DateField(label=_("Tested on"), widget=DATE)
    result = forms.ChoiceField(label=_("Result"), choices=OnSiteTest.Result.choices)
    error_percent = forms.DecimalField(label=_("Error (%)"), max_digits=6, decimal_places=3, required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class StatusForm(ScopedForm):
    status = forms.ChoiceField(label=_("New status"), choices=Meter.Status.choices)
    verified_on = forms.DateField(label=_("Verified on"), widget=DATE, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
