"""Forms of the key-account screens: validation of shape only; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import CHOOSE, ScopedForm
from gridcare.customers.models import Account
from gridcare.keyaccounts.models import Industry, Prospect
from gridcare.org.models import OrgUnit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProspectForm(ScopedForm):
    """客户备案 — register a company to oneself."""

    routing_fields = {
        "region": "供电区域是组织机构名称，不是客户数据 (a region is an org-chart name, not data)"
    }

    name = forms.CharField(label=_("Company name"), max_length=120)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=30, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=[("", CHOOSE), *Industry.choices])
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=OrgUnit.objects.filter(kind__in=["branch", "station"], is_active=True).order_by("path"),
        empty_label=CHOOSE,
    )
    expected_capacity_kva = forms.DecimalField(
        label=_("Expected capacity (kVA)"), min_value=0, max_digits=12, decimal_places=2
    )
    expected_annual_kwh = forms.DecimalField(
        label=_("Expected annual consumption (kWh)"), min_value=0, max_digits=16, decimal_places=2
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False)
    next_action = forms.CharField(label=_("Next action"), max_length=200, required=False)
    next_action_on = forms.DateField(label=_("Next action on"), required=False, widget=DATE)


class ProspectUpdateForm(forms.Form):
    """Move a prospect along the pipeline."""

    stage = forms.ChoiceField(label=_("Stage"), choices=Prospect.Stage.choices)
    lost_reason = forms.CharField(label=_("Reason lost"), max_length=200, required=False)
    next_action = forms.CharField(label=_("Next action"), max_length=200, required=False)
    next_action_on = forms.DateField(label=_("Next action on"), required=False, widget=DATE)


class VisitForm(ScopedForm):
    """回访记录 — a visit of one of one's key accounts."""

    account = forms.ModelChoiceField(
        label=_("Account"), queryset=Account.objects.filter(key_account__active=True), empty_label=CHOOSE
    )
    visited_on = forms.DateField(label=_("Visited on"), widget=DATE)
    people_met = forms.CharField(label=_("People met"), max_length=200)
    topics = forms.CharField(label=_("Topics"), widget=forms.Textarea(attrs={"rows": 3}))
    demands = forms.CharField(
        label=_("Demands raised"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    follow_up = forms.CharField(
        label=_("Follow-up actions"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    create_work_order = forms.BooleanField(
        label=_("Open a work order for the follow-up"), required=False, widget=forms.CheckboxInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].label_from_instance = lambda a: f"{a.number} {a.name}"  # type: ignore[attr-defined]


class PlanForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2999)


class DecisionForm(forms.Form):
    transfer = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("0", _("Keep with the holder")), ("1", _("Hand to the claimant"))],
        coerce=lambda v: v == "1",
    )
    note = forms.CharField(label=_("Decision note"), max_length=200)
