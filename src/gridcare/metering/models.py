"""Meter assets (电能表资产), their installation history (装拆记录) with register reads, and on-site tests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Register(models.TextChoices):
    """计度器 — the registers a meter may carry."""

    ACTIVE_TOTAL = "active_total", _("Active total (有功总)")
    ACTIVE_SHARP = "active_sharp", _("Active critical peak (尖)")
    ACTIVE_PEAK = "active_peak", _("Active peak (峰)")
    ACTIVE_FLAT = "active_flat", _("Active flat (平)")
    ACTIVE_VALLEY = "active_valley", _("Active valley (谷)")
    REACTIVE_TOTAL = "reactive_total", _("Reactive total (无功总)")


class Meter(models.Model):
    """电能表 — one meter asset, from stock through installation, removal, test to scrapping."""

    class Kind(models.TextChoices):
        ELECTRONIC = "electronic", _("Electronic")
        MECHANICAL = "mechanical", _("Mechanical")

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        INSTALLED = "installed", _("Installed")
        REMOVED = "removed", _("Removed")
        UNDER_TEST = "under_test", _("Under test")
        SCRAPPED = "scrapped", _("Scrapped")

    class AccuracyClass(models.TextChoices):
        C02S = "0.2S", "0.2S"
        C05S = "0.5S", "0.5S"
        C1 = "1", "1"
        C2 = "2", "2"

    asset_no = models.CharField(_("asset number"), max_length=32, unique=True)
    barcode = models.CharField(_("barcode"), max_length=32, unique=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=80)
    model_code = models.CharField(_("model"), max_length=40)
    kind = models.CharField(_("meter kind"), max_length=12, choices=Kind.choices, default=Kind.ELECTRONIC)
    accuracy_class = models.CharField(_("accuracy class"), max_length=4, choices=AccuracyClass.choices)
    phases = models.PositiveSmallIntegerField(
        _("phases"), choices=[(1, _("Single-phase")), (3, _("Three-phase"))]
    )
    rated_current = models.CharField(_("rated current"), max_length=20, help_text=_("e.g. 5(60)A"))
    register_digits = models.PositiveSmallIntegerField(_("register digits"), default=6)
    registers = models.JSONField(_("registers"), default=list)
    ct_ratio = models.PositiveIntegerField(_("CT ratio"), default=1)
    pt_ratio = models.PositiveIntegerField(_("PT ratio"), default=1)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_STOCK)
    verified_on = models.DateField(_("verified on"), null=True, blank=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("holding unit"), on_delete=models.PROTECT, related_name="meters"
    )
    service_point = models.ForeignKey(
        "customers.ServicePoint",
        verbose_name=_("service point"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="meters",
    )
    last_tested_on = models.DateField(_("last on-site test"), null=True, blank=True)
    next_test_due = models.DateField(_("next on-site test due"), null=True, blank=True, db_index=True)
    rotation_due = models.DateField(_("rotation due"), null=True, blank=True, db_index=True)
    replace_due = models.DateField(
        _("replacement due (out of tolerance)"), null=True, blank=True, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    display_choices = {"registers": Register}  # gridcare.web.display: the codes of the list as labels

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "org_unit__path"
    scope_owner = "service_point__account__account_manager"

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        ordering = ["asset_no"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ct_ratio__gte=1), name="meter_ct_ratio_positive"),
            models.CheckConstraint(condition=models.Q(pt_ratio__gte=1), name="meter_pt_ratio_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_no} {self.manufacturer} {self.model_code}"

    def get_absolute_url(self) -> str:
        return reverse("metering:meter-detail", args=[self.pk])

    @property
    def multiplier(self) -> int:
        """倍率 = CT ratio × PT ratio, applied to register differences."""
        return self.ct_ratio * self.pt_ratio


class Installation(models.Model):
    """装拆记录 — one meter at one service point from ``installed_on`` until ``removed_on``.

    The ratios are copied from the meter at installation, so the multiplier history stays effective-dated.
    """

    class Reason(models.TextChoices):
        NEW = "new", _("New connection")
        REPLACE = "replace", _("Replacement")
        ROTATION = "rotation", _("Rotation")
        FAULT = "fault", _("Fault")
        CLOSE = "close", _("Account closed")

    meter = models.ForeignKey(
        Meter, verbose_name=_("meter"), on_delete=models.PROTECT, related_name="installations"
    )
    service_point = models.ForeignKey(
        "customers.ServicePoint",
        verbose_name=_("service point"),
        on_delete=models.PROTECT,
        related_name="installations",
    )
    installed_on = models.DateField(_("installed on"))
    removed_on = models.DateField(_("removed on"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices, default=Reason.NEW)
    removal_reason = models.CharField(_("removal reason"), max_length=12, choices=Reason.choices, blank=True)
    ct_ratio = models.PositiveIntegerField(_("CT ratio"), default=1)
    pt_ratio = models.PositiveIntegerField(_("PT ratio"), default=1)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "service_point__org_unit__path"
    scope_owner = "service_point__account__account_manager"

    class Meta:
        verbose_name = _("installation")
        verbose_name_plural = _("installations")
        ordering = ["-installed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter"], condition=models.Q(removed_on__isnull=True), name="meter_installed_once"
            ),
            models.UniqueConstraint(
                fields=["service_point"],
                condition=models.Q(removed_on__isnull=True),
                name="one_meter_per_service_point",
            ),
            models.CheckConstraint(
                condition=models.Q(removed_on__isnull=True)
                | models.Q(removed_on__gte=models.F("installed_on")),
                name="installation_removed_after_installed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} @ {self.service_point_id} [{self.installed_on}, {self.removed_on or '∞'})"

    @property
    def multiplier(self) -> int:
        return self.ct_ratio * self.pt_ratio


class InstallationRead(models.Model):
    """装表起度 / 拆表止度 — a register read taken when a meter was installed or removed."""

    class Event(models.TextChoices):
        INSTALL = "install", _("Initial read (installation)")
        REMOVE = "remove", _("Final read (removal)")

    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="reads", db_index=False
    )  # indexed by the unique (installation, event, register) constraint
    event = models.CharField(_("event"), max_length=8, choices=Event.choices)
    register = models.CharField(_("register"), max_length=16, choices=Register.choices)
    value = models.DecimalField(_("read"), max_digits=16, decimal_places=2)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "installation__service_point__org_unit__path"
    scope_owner = "installation__service_point__account__account_manager"

    class Meta:
        verbose_name = _("installation read")
        verbose_name_plural = _("installation reads")
        ordering = ["installation", "event", "register"]
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "event", "register"], name="one_read_per_register"
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="installation_read_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.installation_id} {self.event} {self.register} {self.value}"


class OnSiteTest(models.Model):
    """现场检验 — a test of an installed meter on site; out of tolerance means replace within 3 working days."""

    class Result(models.TextChoices):
        PASSED = "passed", _("Within tolerance")
        OUT_OF_TOLERANCE = "out_of_tolerance", _("Out of tolerance")

    meter = models.ForeignKey(Meter, verbose_name=_("meter"), on_delete=models.PROTECT, related_name="tests")
    service_point = models.ForeignKey(
        "customers.ServicePoint", verbose_name=_("service point"), on_delete=models.PROTECT, related_name="+"
    )
    tested_on = models.DateField(_("tested on"))
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    error_percent = models.DecimalField(_("error (%)"), max_digits=6, decimal_places=3, null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    #: gridcare.web.display: the units shown after these values
    display_units = {"error_percent": "%"}

    scope_unit_path = "service_point__org_unit__path"
    scope_owner = "service_point__account__account_manager"

    class Meta:
        verbose_name = _("on-site test")
        verbose_name_plural = _("on-site tests")
        ordering = ["-tested_on", "-id"]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.tested_on} {self.result}"
