"""Customers (客户), their contacts, accounts (户号) and service points (用电地址)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    """A person or organisation that buys electricity; owns one or more accounts."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ORGANISATION = "organisation", _("Organisation")

    class IdType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("Resident ID card")
        CREDIT_CODE = "credit_code", _("Unified social credit code")
        PASSPORT = "passport", _("Passport")
        OTHER = "other", _("Other")

    number = models.CharField(_("customer number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120, db_index=True)
    id_type = models.CharField(_("ID type"), max_length=16, choices=IdType.choices)
    id_number = models.CharField(_("ID number"), max_length=32)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("managing unit"), on_delete=models.PROTECT, related_name="customers"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_unit_path = "org_unit__path"
    scope_owner = None

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["number"]
        indexes = [models.Index(fields=["id_type", "id_number"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def get_absolute_url(self) -> str:
        return reverse("customers:customer-detail", args=[self.pk])


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=60)
    mobile = models.CharField(_("mobile"), max_length=20, db_index=True)
    role = models.CharField(_("role"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    scope_unit_path = "customer__org_unit__path"
    scope_owner = None

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer", "-is_primary", "name"]

    def __str__(self) -> str:
        return f"{self.name} {self.mobile}"


class Account(models.Model):
    """户号 — the billing account: one bill per period, its own payment method and credit rating."""

    class BillingCycle(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        BIMONTHLY = "bimonthly", _("Every two months")

    class PaymentMethod(models.TextChoices):
        COUNTER = "counter", _("Counter")
        BANK_DEDUCTION = "bank_deduction", _("Bank direct debit")
        ONLINE = "online", _("Online")
        PREPAID = "prepaid", _("Prepaid")

    class CreditRating(models.TextChoices):
        AAA = "AAA", "AAA"
        AA = "AA", "AA"
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("account number"), max_length=20, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="accounts")
    name = models.CharField(_("account name"), max_length=120, db_index=True)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("service station"), on_delete=models.PROTECT, related_name="accounts"
    )
    billing_cycle = models.CharField(_("billing cycle"), max_length=16, choices=BillingCycle.choices, default="monthly")
    payment_method = models.CharField(_("payment method"), max_length=16, choices=PaymentMethod.choices, default="counter")
    is_key_account = models.BooleanField(_("key account"), default=False)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="managed_accounts",
    )
    credit_rating = models.CharField(_("credit rating"), max_length=4, choices=CreditRating.choices, default="A")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default="active")
    opened_on = models.DateField(_("opened on"), default=timezone.localdate)

    scope_unit_path = "org_unit__path"
    scope_owner = "account_manager"

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("customers:customer-detail", args=[self.customer_id])


class ServicePoint(models.Model):
    """用电地址 — where electricity is delivered and measured; carries the class that decides the tariff."""

    class VoltageLevel(models.TextChoices):
        V220 = "220V", "220 V"
        V380 = "380V", "380 V"
        KV10 = "10kV", "10 kV"
        KV20 = "20kV", "20 kV"
        KV35 = "35kV", "35 kV"
        KV110 = "110kV", "110 kV"
        KV220 = "220kV", "220 kV"

    class CustomerClass(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential (居民生活)")
        COMMERCIAL = "commercial", _("General industry & commerce (一般工商业)")
        LARGE_INDUSTRY = "large_industry", _("Large industry (大工业)")
        AGRICULTURE = "agriculture", _("Agricultural production (农业生产)")

    class PowerFactorStandard(models.TextChoices):
        PF90 = "0.90", "0.90"
        PF85 = "0.85", "0.85"
        PF80 = "0.80", "0.80"
        NONE = "none", _("Not assessed")

    class AreaClass(models.TextChoices):
        URBAN = "urban", _("Urban")
        RURAL = "rural", _("Rural")
        REMOTE = "remote", _("Remote")

    number = models.CharField(_("service point number"), max_length=24, unique=True)
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="service_points")
    address = models.CharField(_("address"), max_length=200, db_index=True)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("service station"), on_delete=models.PROTECT, related_name="service_points"
    )
    voltage_level = models.CharField(_("voltage level"), max_length=8, choices=VoltageLevel.choices)
    customer_class = models.CharField(_("customer class"), max_length=20, choices=CustomerClass.choices)
    sub_class = models.CharField(_("sub-class"), max_length=40, blank=True)
    pf_standard = models.CharField(_("power factor standard"), max_length=8, choices=PowerFactorStandard.choices, default="none")
    area_class = models.CharField(_("area class"), max_length=8, choices=AreaClass.choices, default="urban")
    is_important = models.BooleanField(_("important customer"), default=False)

    scope_unit_path = "org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("service point")
        verbose_name_plural = _("service points")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.address}"
