from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedForm


class CalendarOverrideForm(ScopedForm):
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    is_working_day = forms.TypedChoiceField(
        label=_("The day is"),
        choices=[("0", _("a day off")), ("1", _("a working day"))],
        coerce=lambda v: v == "1",
    )
    reason = forms.CharField(label=_("Reason"), max_length=120)


class DeadlineForm(ScopedForm):
    start = forms.DateTimeField(
        label=_("Received at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    working_days = forms.IntegerField(label=_("Working days"), min_value=1, max_value=366)
