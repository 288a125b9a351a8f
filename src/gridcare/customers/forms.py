"""Forms of the customer screens: they check format only; the rules live in the actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedForm
from gridcare.customers.models import Account, Customer, ServicePoint
from gridcare.org.models import OrgUnit, User

DATE = forms.DateInput(attrs={"type": "date"})


def stations() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Service station"),
        queryset=OrgUnit.objects.filter(kind__in=["station", "branch"], is_active=True),
    )


def managers() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Account manager"),
        queryset=User.objects.filter(is_active=True, position__permissions__code="keyaccount.manage"),
        required=False,
    )


class CustomerForm(ScopedForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices)
    id_type = forms.ChoiceField(label=_("ID type"), choices=Customer.IdType.choices)
    id_number = forms.CharField(label=_("ID number"), max_length=32)
    org_unit = stations()
    address = forms.CharField(label=_("Correspondence address"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact name"), max_length=60)
    contact_mobile = forms.CharField(label=_("Contact mobile"), max_length=20)


class CustomerEditForm(ScopedForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    address = forms.CharField(label=_("Correspondence address"), max_length=200, required=False)


class ContactForm(ScopedForm):
    name = forms.CharField(label=_("Name"), max_length=60)
    mobile = forms.CharField(label=_("Mobile"), max_length=20)
    role = forms.CharField(label=_("Role"), max_length=40, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)


class AccountForm(ScopedForm):
    number = forms.CharField(
        label=_("Account number"), max_length=20, required=False, help_text=_("Empty: generated.")
    )
    name = forms.CharField(label=_("Account name"), max_length=120, required=False)
    org_unit = stations()
    billing_cycle = forms.ChoiceField(label=_("Billing cycle"), choices=Account.BillingCycle.choices)
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=Account.PaymentMethod.choices)
    is_key_account = forms.BooleanField(label=_("Key account"), required=False)
    account_manager = managers()
    credit_rating = forms.ChoiceField(
        label=_("Credit rating"), choices=Account.CreditRating.choices, initial="A"
    )


class AccountEditForm(ScopedForm):
    name = forms.CharField(label=_("Account name"), max_length=120)
    billing_cycle = forms.ChoiceField(label=_("Billing cycle"), choices=Account.BillingCycle.choices)
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=Account.PaymentMethod.choices)
    is_key_account = forms.BooleanField(label=_("Key account"), required=False)
    account_manager = managers()
    credit_rating = forms.ChoiceField(label=_("Credit rating"), choices=Account.CreditRating.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Account.Status.choices)


class ServicePointForm(ScopedForm):
    address = forms.CharField(label=_("Address"), max_length=200)
    voltage_level = forms.ChoiceField(label=_("Voltage level"), choices=ServicePoint.VoltageLevel.choices)
    customer_class = forms.ChoiceField(label=_("Customer class"), choices=ServicePoint.CustomerClass.choices)
    sub_class = forms.CharField(label=_("Sub-class"), max_length=40, required=False)
    pf_standard = forms.ChoiceField(
        label=_("Power factor standard"), choices=ServicePoint.PowerFactorStandard.choices
    )
    area_class = forms.ChoiceField(label=_("Area class"), choices=ServicePoint.AreaClass.choices)
    is_important = forms.BooleanField(label=_("Important customer"), required=False)
    tariff_code = forms.CharField(label=_("Tariff code"), max_length=40)
    capacity_kva = forms.DecimalField(label=_("Contracted capacity (kVA)"), max_digits=12, decimal_places=2)
    contracted_demand_kw = forms.DecimalField(
        label=_("Contracted demand (kW)"), max_digits=12, decimal_places=2, required=False
    )
    expected_monthly_kwh = forms.DecimalField(
        label=_("Expected monthly energy (kWh)"), max_digits=14, decimal_places=2, required=False
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)


class TariffChangeForm(ScopedForm):
    tariff_code = forms.CharField(label=_("Tariff code"), max_length=40)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class CapacityChangeForm(ScopedForm):
    capacity_kva = forms.DecimalField(label=_("Contracted capacity (kVA)"), max_digits=12, decimal_places=2)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class DemandChangeForm(ScopedForm):
    contracted_demand_kw = forms.DecimalField(
        label=_("Contracted demand (kW)"), max_digits=12, decimal_places=2
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ClassChangeForm(ScopedForm):
    customer_class = forms.ChoiceField(label=_("Customer class"), choices=ServicePoint.CustomerClass.choices)
    sub_class = forms.CharField(label=_("Sub-class"), max_length=40, required=False)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ContractForm(ScopedForm):
    number = forms.CharField(label=_("Contract number"), max_length=32)
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE)
    valid_from = forms.DateField(label=_("Term from"), widget=DATE)
    valid_to = forms.DateField(label=_("Term to"), widget=DATE)
    capacity_kva = forms.DecimalField(label=_("Contracted capacity (kVA)"), max_digits=12, decimal_places=2)
    contracted_demand_kw = forms.DecimalField(
        label=_("Contracted demand (kW)"), max_digits=12, decimal_places=2, required=False
    )


class ImportForm(ScopedForm):
    kind = forms.ChoiceField(
        label=_("What to import"),
        choices=[
            ("customers", _("Customers, accounts and service points")),
            ("meters", _("Meter stock")),
            ("readings", _("Meter readings")),
        ],
    )
    file = forms.FileField(label=_("Excel file (.xlsx) or CSV"))
