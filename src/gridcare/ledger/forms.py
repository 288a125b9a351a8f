from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedForm
from gridcare.ledger.actions import COUNTER_METHODS
from gridcare.ledger.models import Channel, Method


class PaymentForm(forms.Form):
    amount = forms.CharField(label=_("Amount (元)"), max_length=24)
    method = forms.ChoiceField(
        label=_("Payment method"), choices=[(m.value, m.label) for m in Method if m in COUNTER_METHODS]
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CloseForm(forms.Form):
    cash_handed_over = forms.CharField(label=_("Cash handed over (元)"), max_length=24)
    note = forms.CharField(
        label=_("Note (required when there is a difference)"), max_length=200, required=False
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class RefundForm(forms.Form):
    amount = forms.CharField(label=_("Amount (元)"), max_length=24)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CreditRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Request type"),
        choices=[("waiver", _("Late-fee waiver")), ("write_off", _("Write-off"))],
    )
    amount = forms.CharField(label=_("Amount (元, empty: all)"), max_length=24, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ChannelFileForm(ScopedForm):
    channel = forms.ModelChoiceField(
        label=_("Collection channel"), queryset=Channel.objects.filter(active=True)
    )
    day = forms.DateField(label=_("Business date"), widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(label=_("Channel file (CSV or Excel)"))
