"""Customers (客户), their contacts, accounts (户号) and service points (用电地址)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Customer(models.Model):
    """A person or organisation that buys electricity; owns one or more accounts."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", pgettext_lazy("customer kind", "Individual")
        ORGANISATION = "organisation", pgettext_lazy("customer kind", "Organisation")

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
    address = models.CharField(_("correspondence address"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "org_unit__path"
    # A key account manager (own scope) sees the customers of the accounts he manages.
    scope_owner = "accounts__account_manager"

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["number"]
        # one customer per ID document (the registration shows the existing one); the unique index also serves
        # the look-ups by ID of the import and of the registration
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number"], name="uniq_customer_id_document")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def get_absolute_url(self) -> str:
        return reverse("customers:customer-detail", args=[self.pk])


class Contact(models.Model):
    """联系人 — a person to call about the customer's supply; the mobile number is masked on screen."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=60)
    mobile = models.CharField(_("mobile"), max_length=20)
    role = models.CharField(_("role"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "customer__org_unit__path"
    scope_owner = "customer__accounts__account_manager"

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer", "-is_primary", "name"]
        # prefix search only: one pattern index instead of Django's pair (btree + _like)
        indexes = [
            models.Index(fields=["mobile"], name="contact_mobile_prefix", opclasses=["varchar_pattern_ops"])
        ]

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
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="accounts"
    )
    name = models.CharField(_("account name"), max_length=120)
    # (indexed by the (org_unit, name) index below)
    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("service station"),
        on_delete=models.PROTECT,
        related_name="accounts",
        db_index=False,
    )
    billing_cycle = models.CharField(
        _("billing cycle"), max_length=16, choices=BillingCycle.choices, default="monthly"
    )
    payment_method = models.CharField(
        _("payment method"), max_length=16, choices=PaymentMethod.choices, default="counter"
    )
    is_key_account = models.BooleanField(_("key account"), default=False)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="managed_accounts",
        db_index=False,  # indexed by the (account_manager, name) index below
    )
    credit_rating = models.CharField(
        _("credit rating"), max_length=4, choices=CreditRating.choices, default="A"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default="active")
    opened_on = models.DateField(_("opened on"), default=timezone.localdate)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "org_unit__path"
    scope_owner = "account_manager"

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["number"]
        indexes = [
            # scoped search: a station's (or a key account manager's) accounts by name or 户号 prefix
            models.Index(
                fields=["org_unit", "name"],
                name="account_unit_name",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["account_manager", "name"],
                name="account_manager_name",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            # prefix search by name over the whole company (one pattern index, not Django's btree + _like pair)
            models.Index(fields=["name"], name="account_name_prefix", opclasses=["varchar_pattern_ops"]),
        ]

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
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="service_points"
    )
    address = models.CharField(_("address"), max_length=200)
    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("service station"),
        on_delete=models.PROTECT,
        related_name="service_points",
        db_index=False,  # indexed by the (org_unit, address) index below
    )
    voltage_level = models.CharField(_("voltage level"), max_length=8, choices=VoltageLevel.choices)
    customer_class = models.CharField(_("customer class"), max_length=20, choices=CustomerClass.choices)
    sub_class = models.CharField(_("sub-class"), max_length=40, blank=True)
    pf_standard = models.CharField(
        _("power factor standard"), max_length=8, choices=PowerFactorStandard.choices, default="none"
    )
    area_class = models.CharField(_("area class"), max_length=8, choices=AreaClass.choices, default="urban")
    is_important = models.BooleanField(_("important customer"), default=False)
    # The values of the open-ended effective-dated periods, kept by the change actions for lists and filters;
    # the periods themselves (TariffAssignment, CapacityPeriod, DemandPeriod, ClassPeriod) are the record.
    tariff_code = models.CharField(_("tariff code"), max_length=40, blank=True)
    capacity_kva = models.DecimalField(
        _("contracted capacity (kVA)"), max_digits=12, decimal_places=2, default=0
    )
    contracted_demand_kw = models.DecimalField(
        _("contracted demand (kW)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    expected_monthly_kwh = models.DecimalField(
        _("expected monthly energy (kWh)"), max_digits=14, decimal_places=2, default=0
    )
    metering_class = models.CharField(_("metering class"), max_length=4, blank=True)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    #: gridcare.web.display: the units shown after these values
    display_units = {"capacity_kva": "kVA", "contracted_demand_kw": "kW", "expected_monthly_kwh": "kWh"}

    scope_unit_path = "org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("service point")
        verbose_name_plural = _("service points")
        ordering = ["number"]
        indexes = [
            # scoped search: a station's service points by address prefix
            models.Index(
                fields=["address"], name="servicepoint_address_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["org_unit", "address"],
                name="servicepoint_unit_address",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.address}"

    def get_absolute_url(self) -> str:
        return reverse("customers:servicepoint-detail", args=[self.pk])

    @property
    def phases(self) -> int:
        """220 V supply is single-phase (计量V类); every other voltage is three-phase."""
        return 1 if self.voltage_level == self.VoltageLevel.V220 else 3


class EffectiveDated(models.Model):
    """A value of a service point valid from ``valid_from`` up to ``valid_to`` (exclusive; null = open).

    Changes never edit a period: the change action closes the open one and opens the next (生效日期管理),
    so a bill period crossing a change can be split and prorated by days.
    """

    service_point = models.ForeignKey(
        ServicePoint, verbose_name=_("service point"), on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to (exclusive)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "service_point__org_unit__path"
    scope_owner = "service_point__account__account_manager"
    value_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True
        ordering = ["service_point", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=models.F("valid_from")),
                name="%(app_label)s_%(class)s_valid_to_after_from",
            ),
            models.UniqueConstraint(
                fields=["service_point", "valid_from"], name="%(app_label)s_%(class)s_one_start_per_day"
            ),
            models.UniqueConstraint(
                fields=["service_point"],
                condition=models.Q(valid_to__isnull=True),
                name="%(app_label)s_%(class)s_one_open_period",
            ),
        ]

    def __str__(self) -> str:
        values = " ".join(str(getattr(self, f)) for f in self.value_fields)
        return f"{self.service_point_id} {values} [{self.valid_from}, {self.valid_to or '∞'})"


class TariffAssignment(EffectiveDated):
    """电价执行 — which tariff a service point is billed on (a code of the tariffs catalogue)."""

    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("service point"),
        on_delete=models.PROTECT,
        related_name="tariff_periods",
        db_index=False,
    )
    tariff_code = models.CharField(_("tariff code"), max_length=40)
    value_fields = ("tariff_code",)

    class Meta(EffectiveDated.Meta):
        verbose_name = _("tariff assignment")
        verbose_name_plural = _("tariff assignments")


class CapacityPeriod(EffectiveDated):
    """合同容量 — contracted (transformer) capacity in kVA; changes are 增容/减容."""

    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("service point"),
        on_delete=models.PROTECT,
        related_name="capacity_periods",
        db_index=False,
    )
    capacity_kva = models.DecimalField(_("contracted capacity (kVA)"), max_digits=12, decimal_places=2)
    value_fields = ("capacity_kva",)

    class Meta(EffectiveDated.Meta):
        verbose_name = _("capacity period")
        verbose_name_plural = _("capacity periods")


class DemandPeriod(EffectiveDated):
    """合同需量 — contracted maximum demand in kW of a two-part (两部制) customer billed by demand."""

    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("service point"),
        on_delete=models.PROTECT,
        related_name="demand_periods",
        db_index=False,
    )
    contracted_demand_kw = models.DecimalField(_("contracted demand (kW)"), max_digits=12, decimal_places=2)
    value_fields = ("contracted_demand_kw",)

    class Meta(EffectiveDated.Meta):
        verbose_name = _("demand period")
        verbose_name_plural = _("demand periods")


class ClassPeriod(EffectiveDated):
    """用电类别 — the customer class (and sub-class) that decides the tariff family; changes are 改类."""

    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("service point"),
        on_delete=models.PROTECT,
        related_name="class_periods",
        db_index=False,
    )
    customer_class = models.CharField(
        _("customer class"), max_length=20, choices=ServicePoint.CustomerClass.choices
    )
    sub_class = models.CharField(_("sub-class"), max_length=40, blank=True)
    value_fields = ("customer_class", "sub_class")

    class Meta(EffectiveDated.Meta):
        verbose_name = _("class period")
        verbose_name_plural = _("class periods")


class SupplyContract(models.Model):
    """供用电合同 — the supply contract of an account: parties, term, capacity and contracted demand."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In force")
        TERMINATED = "terminated", _("Terminated")

    class State(models.TextChoices):
        """What staff read: the stored status with the term applied — a contract in force past its end date
        has expired (已到期), it is no longer 履行中."""

        ACTIVE = "active", _("In force")
        EXPIRED = "expired", _("Expired")
        TERMINATED = "terminated", _("Terminated")

    number = models.CharField(_("contract number"), max_length=32, unique=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="contracts"
    )
    supplier_name = models.CharField(_("supplier (party A)"), max_length=120)
    customer_name = models.CharField(_("customer (party B)"), max_length=120)
    signed_on = models.DateField(_("signed on"))
    valid_from = models.DateField(_("term from"))
    valid_to = models.DateField(_("term to"), db_index=True)
    capacity_kva = models.DecimalField(_("contracted capacity (kVA)"), max_digits=12, decimal_places=2)
    contracted_demand_kw = models.DecimalField(
        _("contracted demand (kW)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    #: gridcare.web.display: the units shown after these values
    display_units = {"capacity_kva": "kVA", "contracted_demand_kw": "kW"}

    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("supply contract")
        verbose_name_plural = _("supply contracts")
        ordering = ["valid_to", "number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__gt=models.F("valid_from")), name="contract_term_positive"
            ),
            models.CheckConstraint(condition=models.Q(capacity_kva__gt=0), name="contract_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.customer_name}"

    def get_absolute_url(self) -> str:
        return reverse("customers:customer-detail", args=[self.account.customer_id])

    def state_on(self, day: dt.date) -> str:
        """The :class:`State` on ``day``: terminated, expired (in force but ``valid_to`` is before ``day``) or
        in force."""
        if self.status == self.Status.TERMINATED:
            return self.State.TERMINATED
        return self.State.EXPIRED if self.valid_to < day else self.State.ACTIVE

    @property
    def state(self) -> str:
        """The state today (local date) — shown by the list, the customer page and the export."""
        return self.state_on(timezone.localdate())

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)

    @classmethod
    def state_q(cls, state: str, day: dt.date) -> models.Q:
        """The rows in ``state`` on ``day`` — the same rule as :meth:`state_on`, for filters."""
        if state == cls.State.TERMINATED:
            return models.Q(status=cls.Status.TERMINATED)
        in_force = models.Q(status=cls.Status.ACTIVE)
        if state == cls.State.EXPIRED:
            return in_force & models.Q(valid_to__lt=day)
        return in_force & models.Q(valid_to__gte=day)


# Sub-classes of each customer class (用电类别细分), as the class tables of the tariff catalogues name them.
SUB_CLASSES: dict[str, tuple[str, ...]] = {
    ServicePoint.CustomerClass.RESIDENTIAL: ("城镇居民", "乡村居民", "合表用户", "执行居民电价的非居民"),
    ServicePoint.CustomerClass.COMMERCIAL: ("商业", "非工业", "普通工业", "充换电设施"),
    ServicePoint.CustomerClass.LARGE_INDUSTRY: ("大工业", "电解铝", "氯碱", "电炉铁合金"),
    ServicePoint.CustomerClass.AGRICULTURE: ("农业生产", "农业排灌", "贫困县农业排灌"),
}
