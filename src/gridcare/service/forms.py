"""Forms of the service desk screens: they check format only; the rules live in the actions."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core.scoped import CHOOSE, ScopedForm
from gridcare.customers.models import Account, ServicePoint
from gridcare.org.models import OrgUnit, User
from gridcare.service.choices import SUB_TYPES, Cause, Channel, ClockKind, OrderType, SubType
from gridcare.service.models import AREA_CLASSES, StockItem, WorkOrder

#: The intake's type list: empty first (the rep chooses), then the types the hotline registers most often.
INTAKE_TYPE_ORDER = (
    OrderType.REPAIR,
    OrderType.ENQUIRY,
    OrderType.COMPLAINT,
    OrderType.APPLICATION,
    OrderType.OPINION,
    OrderType.SUGGESTION,
    OrderType.REPORT,
    OrderType.PRAISE,
)
NOT_FOUND = _("Not found or outside your data scope.")


def _picked(queryset: Any) -> forms.ModelChoiceField:
    """A hidden id picked from the live suggestions; resolved through the caller's scope (ScopedForm), so an id
    outside it is "not found" like one that does not exist."""
    return forms.ModelChoiceField(
        queryset=queryset,
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": NOT_FOUND},
    )


class IntakeForm(ScopedForm):
    """受理 — phone or counter intake: the caller is picked from live suggestions (phone, 户号, meter number, name,
    address) or typed as an account or service point number; sub-types follow the type."""

    lookup = forms.CharField(
        label=_("Phone, account, meter number, name or address"),
        max_length=60,
        required=False,
        help_text=_(
            "Pick the caller from the suggestions, or type an account or service point number. "
            "Leave empty for an anonymous enquiry or report."
        ),
    )
    account = _picked(Account.objects.all())
    service_point = _picked(ServicePoint.objects.all())
    contact_from_customer = forms.BooleanField(required=False, widget=forms.HiddenInput)
    master = _picked(WorkOrder.objects.all())
    order_type = forms.ChoiceField(
        label=_("Type"),
        choices=[("", "—"), *((t.value, t.label) for t in INTAKE_TYPE_ORDER)],
        required=False,
    )
    sub_type = forms.ChoiceField(label=_("Sub-type"), choices=[("", "—"), *SubType.choices], required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    contact_name = forms.CharField(label=_("Caller"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Call-back number"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    area_text = forms.CharField(label=_("Fault area / feeder"), max_length=100, required=False)
    area_class = forms.ChoiceField(label=_("Area class"), choices=[("", "—"), *AREA_CLASSES], required=False)
    title = forms.CharField(label=_("Subject"), max_length=120, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    #: Fields shown only for these types (the rest of the time hidden by intake.js; the action decides anyway).
    only_for = {"area_text": (OrderType.REPAIR,), "area_class": (OrderType.REPAIR,)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the sub-types each type takes, for intake.js to filter the list (do_create_order checks them again)
        self.fields["sub_type"].widget.attrs["data-sub-types"] = json.dumps(
            {str(kind): [str(sub) for sub in subs] for kind, subs in SUB_TYPES.items()}
        )
        self.fields["lookup"].widget.attrs.update(
            {
                "autofocus": True,
                "autocomplete": "off",
                "hx-get": reverse("service:intake-suggest"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#intake-suggestions",
                "hx-sync": "this:replace",
            }
        )
        for name, kinds in self.only_for.items():
            self.fields[name].widget.attrs["data-only-for"] = " ".join(kinds)


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
    cause = forms.ChoiceField(label=_("Fault cause"), choices=[("", CHOOSE), *Cause.choices])
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
