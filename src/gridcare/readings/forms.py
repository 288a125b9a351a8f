"""Forms of the readings screens: the decision on an exception and the approval of an estimate."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.readings.actions.decisions import ESTIMATION_METHODS

METHOD_LABELS = {
    "same_period_last_year": _("Same period last year"),
    "average_last_three": _("Average of the last three periods"),
}


class DecisionForm(forms.Form):
    """确认 / 修正 / 补抄 / 估抄 — one decision with its reason (a corrected value, or the estimation method)."""

    DECISIONS = [
        ("accept", _("Accept the read")),
        ("correct", _("Correct the read")),
        ("reread", _("Order a re-read")),
        ("estimate", _("Estimate")),
    ]

    decision = forms.ChoiceField(
        label=pgettext_lazy("meter reading", "Decision"),
        choices=DECISIONS,
        help_text=_(
            "A reverse-running read is not accepted as it stands: accepting it makes it the new baseline with zero "
            "consumption, marked for back-billing, and raises a meter-fault work order."
        ),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
    value = forms.CharField(
        label=_("Corrected reading"),
        max_length=20,
        required=False,
        help_text=_("Only when correcting: the reading on the meter's dial."),
    )
    method = forms.ChoiceField(
        label=_("Estimation method"),
        choices=[(m, METHOD_LABELS[m]) for m in ESTIMATION_METHODS],
        required=False,
        help_text=_("Only when estimating: an estimate is billed once another person approves it."),
    )


class ApprovalForm(forms.Form):
    reason = forms.CharField(label=_("Note"), max_length=200, required=False)
