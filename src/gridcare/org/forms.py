"""Forms of the organisation screens: they validate format only; rules live in the actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedForm
from gridcare.org.models import LimitType, OrgUnit, PermissionCode, Position, User


class OrgUnitForm(ScopedForm):
    code = forms.SlugField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrgUnit.Kind.choices)
    parent = forms.ModelChoiceField(
        label=_("Parent unit"), queryset=OrgUnit.objects.filter(is_active=True), required=False
    )
    head = forms.ModelChoiceField(
        label=_("Head"), queryset=User.objects.filter(is_active=True, position__isnull=False), required=False
    )


class OrgUnitEditForm(ScopedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrgUnit.Kind.choices)
    head = forms.ModelChoiceField(
        label=_("Head"), queryset=User.objects.filter(is_active=True, position__isnull=False), required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)


class StaffForm(ScopedForm):
    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[A-Za-z0-9_.@-]{3,150}$",
        max_length=150,
        help_text=_("Letters, digits and _ . @ - (3 or more)."),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    employee_no = forms.CharField(label=_("Employee number"), max_length=32, required=False)
    phone = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    position = forms.ModelChoiceField(label=_("Position"), queryset=Position.objects.all())
    org_unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.filter(is_active=True))
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, min_length=10)


class StaffEditForm(ScopedForm):
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    employee_no = forms.CharField(label=_("Employee number"), max_length=32, required=False)
    phone = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    position = forms.ModelChoiceField(label=_("Position"), queryset=Position.objects.all())
    org_unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.filter(is_active=True))


class LeaveForm(ScopedForm):
    successor = forms.ModelChoiceField(
        label=_("Successor"),
        queryset=User.objects.filter(is_active=True, position__isnull=False),
        required=False,
        help_text=_("Empty: everything goes to the supervisor's queue (head of the unit)."),
    )
    left_on = forms.DateField(
        label=_("Left on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    """Permissions by their names (查看抄表数据), the way the position's holders and managers speak of them; the
    codes stay internal."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class PositionForm(ScopedForm):
    data_scope = forms.ChoiceField(label=_("Data scope"), choices=Position.DataScope.choices)
    read_scope = forms.ChoiceField(
        label=_("Read scope for customer data"),
        choices=[("", _("Same as the data scope")), *Position.DataScope.choices],
        required=False,
        help_text=_(
            "How far the position reads customer data; its changes always stay within the data scope."
        ),
    )
    permissions = PermissionChoiceField(
        label=_("Permissions"),
        queryset=PermissionCode.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 16}),
    )


class LimitForm(ScopedForm):
    limit_type = forms.ModelChoiceField(
        label=_("Limit"), queryset=LimitType.objects.all(), to_field_name="code"
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=16, decimal_places=2, min_value=0)
