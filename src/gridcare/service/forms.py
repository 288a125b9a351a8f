"""Forms of the service desk screens: they check format only; the rules live in the actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core.scoped import ScopedForm
from gridcare.org.models import OrgUnit, User
from gridcare.service.choices import Cause, Channel, ClockKind, OrderType, SubType
from gridcare.service.models import AREA_CLASSES, StockItem


class IntakeForm(ScopedForm):
    """受理 — phone or counter intake: the caller is found by account number (户号) or service point number."""

    order_type = forms.ChoiceField(label=_("Type"), choices=OrderType.choices)
    sub_type = forms.ChoiceField(label=_("Sub-type"), choices=[("", "—"), *SubType.choices], required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    lookup = forms.CharField(
        label=_("Account or service point number"),
        max_length=24,
        required=False,
        help_text=_("Leave empty for an anonymous enquiry or report."),
    )
    contact_name = forms.CharField(label=_("Caller"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Call-back number"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    area_text = forms.CharField(label=_("Fault area / feeder"), max_length=100, required=False)
    area_class = forms.ChoiceField(label=_("Area class"), choices=[("", "—"), *AREA_CLASSES], required=False)
    title = forms.CharField(label=_("Subject"), max_length=120, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class TargetForm(ScopedForm):
    routing_fields = {
        "queue_unit": "派发/改派的处理单位：移交目标，不是读取 (a handover target, not a read)",
        "assignee": "派发/改派的处理人：移交目标，不是读取 (a handover target, not a read)",
    }

    queue_unit = forms.ModelChoiceField(
        label=_("Handling unit"), queryset=OrgUnit.objects.filter(is_active=True), required=False
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=User.objects.filter(is_active=True, position__isnull=False),
        required=False,
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class ReasonForm(ScopedForm):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class ReplyForm(ScopedForm):
    result = forms.CharField(
        label=pgettext_lazy("work order", "Result"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    cause = forms.ChoiceField(label=_("Cause"), choices=[("", "—"), *Cause.choices], required=False)


class CallbackForm(ScopedForm):
    reached = forms.BooleanField(label=_("Customer reached"), required=False, initial=True)
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        choices=[("", "—")] + [(str(i), str(i)) for i in range(5, 0, -1)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    on_unsatisfied = forms.ChoiceField(
        label=_("If unsatisfied"),
        choices=[("reopen", _("Reopen")), ("escalate", _("Escalate"))],
        initial="reopen",
    )


class RepairRecordForm(ScopedForm):
    cause = forms.ChoiceField(label=_("Fault cause"), choices=Cause.choices)
    fault = forms.CharField(label=_("Fault found"), widget=forms.Textarea(attrs={"rows": 2}))
    work_done = forms.CharField(label=_("Work done"), widget=forms.Textarea(attrs={"rows": 2}))
    is_paid_service = forms.BooleanField(label=_("Paid service"), required=False)


class StockForm(ScopedForm):
    item = forms.ModelChoiceField(label=_("Part or tool"), queryset=StockItem.objects.all())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1)


class FeeForm(ScopedForm):
    description = forms.CharField(label=_("Item"), max_length=120)
    amount = forms.DecimalField(label=_("Amount (元)"), max_digits=12, decimal_places=2, min_value=0)


class CompensationForm(ScopedForm):
    amount = forms.DecimalField(label=_("Amount (元)"), max_digits=12, decimal_places=2, min_value=0)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class DecisionForm(ScopedForm):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PolicyForm(ScopedForm):
    clock = forms.ChoiceField(label=_("Clock"), choices=ClockKind.choices)
    amount = forms.IntegerField(label=_("Amount (minutes or working days)"), min_value=1)
    warn_ratio = forms.DecimalField(
        label=_("Warning at share of allowed time"), max_digits=3, decimal_places=2
    )


class MonthForm(ScopedForm):
    month = forms.RegexField(
        label=_("Month"), regex=r"^\d{4}-\d{2}$", widget=forms.TextInput(attrs={"type": "month"})
    )

    def clean_month(self) -> str:
        from gridcare.service.selectors import month_bounds

        value = self.cleaned_data["month"]
        try:
            month_bounds(value)
        except ValueError:
            raise forms.ValidationError(_("Enter a month such as 2026-10.")) from None
        return value
