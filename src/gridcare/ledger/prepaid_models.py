"""费控 (prepaid accounts): which accounts are prepaid (an agreement, with its enrolment and leaving), the daily
estimate of the remaining balance (剩余电费) and the events the estimate caused — balance alerts, remote
disconnection and reconnection commands, held disconnections (holiday, night, an important customer awaiting
approval).

Imported by :mod:`gridcare.ledger.models` (same app, same migrations). An estimate is a figure of its day, kept
once per account and day; the events are the record of what was asked of the customer and of the meter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PrepaidAgreement(models.Model):
    """费控协议 — the account is prepaid from ``enrolled_on`` until it leaves; ``switched_off``: its supply was cut
    remotely for a zero balance and not yet restored."""

    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="prepaid_agreements",
    )
    enrolled_on = models.DateField(_("enrolled on"))
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("enrolled by"), on_delete=models.PROTECT, related_name="+"
    )
    left_on = models.DateField(_("left on"), null=True, blank=True)
    left_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("left by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)
    switched_off = models.BooleanField(_("supply cut remotely"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("prepaid agreement")
        verbose_name_plural = _("prepaid agreements")
        ordering = ["account", "-enrolled_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(active=True), name="ledger_one_active_prepaid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.enrolled_on}"


class PrepaidEstimate(models.Model):
    """剩余电费估算 — one account's day: the ledger credit, the energy used since the last bill (from the interval
    data, or the last bill's daily average when there is none), the average price, the remaining balance and the
    days it lasts at the recent daily use."""

    class Status(models.TextChoices):
        OK = "ok", _("Sufficient")
        LOW = "low", _("Low balance")
        ZERO = "zero", _("Balance exhausted")

    class Source(models.TextChoices):
        INTERVAL = "interval", _("Interval data")
        BILL_AVERAGE = "bill_average", _("Last bill's daily average")
        NONE = "none", _("No consumption data")

    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("day"))
    since = models.DateField(_("consumption since"))
    credit = models.DecimalField(_("ledger credit"), max_digits=14, decimal_places=2)
    consumption_kwh = models.DecimalField(_("energy since the last bill"), max_digits=16, decimal_places=3)
    price = models.DecimalField(_("average price"), max_digits=10, decimal_places=6)
    consumed = models.DecimalField(_("estimated charge since the last bill"), max_digits=14, decimal_places=2)
    remaining = models.DecimalField(_("remaining balance"), max_digits=14, decimal_places=2)
    daily_kwh = models.DecimalField(_("daily energy"), max_digits=14, decimal_places=3)
    days_left = models.DecimalField(_("days left"), max_digits=8, decimal_places=1, null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    source = models.CharField(_("consumption source"), max_length=16, choices=Source.choices)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    display_units = {
        "credit": "元",
        "consumed": "元",
        "remaining": "元",
        "price": "元/kWh",
        "consumption_kwh": "kWh",
        "daily_kwh": "kWh",
        "days_left": "天",
    }
    #: the daily job's audit row (its counts), in words
    audit_labels = {
        "accounts": _("prepaid accounts"),
        "low": _("accounts with a low balance"),
        "zero": _("accounts with the balance exhausted"),
        "alerts": _("alerts sent"),
        "disconnections": _("remote disconnections"),
    }
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("prepaid balance estimate")
        verbose_name_plural = _("prepaid balance estimates")
        ordering = ["-day", "account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="ledger_prepaid_estimate_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.remaining} 元"


class PrepaidEvent(models.Model):
    """费控事件 — a balance alert sent, a remote disconnection or reconnection asked of the head-end, or a
    disconnection held back (holiday, night, an important customer's awaiting approval)."""

    class Kind(models.TextChoices):
        ALERT_LOW = "alert_low", _("Low-balance alert")
        ALERT_ZERO = "alert_zero", _("Zero-balance alert")
        DISCONNECT = "disconnect", _("Remote disconnection")
        RECONNECT = "reconnect", _("Remote reconnection")
        HELD = "held", _("Disconnection held")

    class Status(models.TextChoices):
        PENDING = "pending", _("To be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Refused by the gateway")
        AWAITING_APPROVAL = "awaiting", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        NOTED = "noted", _("Noted")

    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("day"))
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    remaining = models.DecimalField(_("remaining balance"), max_digits=14, decimal_places=2, null=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    #: what the gateway or head-end answered, or who decided
    reference = models.CharField(_("gateway reference"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    display_units = {"remaining": "元"}
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("prepaid event")
        verbose_name_plural = _("prepaid events")
        ordering = ["-created_at", "-id"]
        constraints = [
            # a daily job run twice (two copies at once) alerts and switches an account once a day
            models.UniqueConstraint(
                fields=["account", "day", "kind"],
                condition=models.Q(kind__in=["alert_low", "alert_zero", "disconnect", "held"]),
                name="ledger_prepaid_event_once_a_day",
            )
        ]
        indexes = [models.Index(fields=["status", "kind"], name="ledger_prepaid_event_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.day}"
