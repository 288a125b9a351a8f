"""The account ledger (账务): immutable entries, payments with their allocations, cashier daily closes, payment
channels (代收) and their reconciliation files.

Every amount is exact (Decimal, 元, 2 decimals). An entry's sign says what it does to what the account owes:
a bill charge or a late fee is positive, a payment negative. The balance of an account is the sum of its entries
(never stored); the company's receivable (应收电费余额) is the sum of all entries. Entries, payments and allocations
are never changed or deleted — a mistake is corrected by a new entry (a reversal, a refund); the database refuses
an UPDATE or DELETE (PostgreSQL triggers, see migration 0001) and so does the model (:class:`Immutable`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core.errors import Conflict

IMMUTABLE_MESSAGE = "账务记录不可修改或删除 (ledger records are never changed or deleted)"


class Immutable(models.Model):
    """A financial record: inserted once, never saved again nor deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise Conflict(IMMUTABLE_MESSAGE)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise Conflict(IMMUTABLE_MESSAGE)


class Method(models.TextChoices):
    """How the money came (收费方式)."""

    CASH = "cash", _("Cash")
    POS = "pos", _("POS card")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CHANNEL = "channel", _("Collection channel")


class Channel(models.Model):
    """代收渠道 — a bank or payment aggregator posting payments through the API, with the column layout of its
    daily reconciliation file (data, per channel)."""

    code = models.CharField(_("channel code"), max_length=16, unique=True)
    name = models.CharField(_("channel name"), max_length=60)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("integration account"),
        on_delete=models.PROTECT,
        related_name="payment_channel",
    )
    #: the file's columns: {"transaction": name, "account": name, "amount": name, "paid_at": name}, plus
    #: optional "delimiter", "skip_rows", "encoding" and "amount_unit" ("yuan" or "fen")
    layout = models.JSONField(_("file layout"), default=dict)
    active = models.BooleanField(_("active"), default=True)

    scope_public = True

    class Meta:
        verbose_name = _("payment channel")
        verbose_name_plural = _("payment channels")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Payment(Immutable):
    """收费记录 — money received for an account at the counter or through a channel; numbered (收费凭证)."""

    number = models.CharField(_("receipt number"), max_length=24, unique=True)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    method = models.CharField(_("payment method"), max_length=16, choices=Method.choices)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("collection channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    #: the channel's transaction id (流水号): unique per channel
    transaction_id = models.CharField(_("transaction id"), max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL for counter payments: the unique constraint leaves them out
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("business date"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    display_units = {"amount": "元", "applied": "元"}
    #: audit keys of the payment's actions that are not fields of the payment, in words
    audit_labels = {"applied": _("settled amount"), "reversal": _("reversal entry")}
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "cashier"

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "transaction_id"],
                condition=models.Q(transaction_id__isnull=False),
                name="ledger_channel_transaction_once",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_payment_positive"),
        ]
        indexes = [models.Index(fields=["cashier", "day"], name="ledger_payment_cashier_day")]

    def __str__(self) -> str:
        return f"{self.number} {self.amount} 元"


class Entry(Immutable):
    """账务明细 — one movement of what an account owes (+) or has paid (−)."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Bill charge")
        CORRECTION = "correction", _("Correcting bill")
        PAYMENT = "payment", pgettext_lazy("ledger entry", "Payment")
        LATE_FEE = "late_fee", _("Late fee")
        WAIVER = "waiver", _("Waiver")
        REVERSAL = "reversal", _("Reversal")
        REFUND = "refund", _("Refund")
        WRITE_OFF = "write_off", _("Write-off")
        PREPAYMENT = "prepayment", _("Prepayment")

    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    kind = models.CharField(_("entry type"), max_length=12, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    bill = models.ForeignKey(
        "billing.Bill",
        verbose_name=_("bill"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    #: the entry a waiver, write-off or late fee concerns (a late fee's bill is ``bill``)
    concerns = models.ForeignKey(
        "self",
        verbose_name=_("concerns the entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    day = models.DateField(_("business date"))
    #: the bill's due date for a charge (oldest bill first), else the business date
    due_date = models.DateField(pgettext_lazy("bill", "due date"))
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("posted by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    display_units = {"amount": "元"}
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["account", "posted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill"],
                condition=models.Q(kind__in=["charge", "correction"]),
                name="ledger_bill_charged_once",
            ),
        ]
        indexes = [models.Index(fields=["account", "kind"], name="ledger_entry_account_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} 元"

    @property
    def is_debit(self) -> bool:
        return self.amount > 0


class Allocation(Immutable):
    """销账 — part of a credit (a payment, prepayment, waiver, negative bill) settling part of a debit (a bill
    charge, a late fee, a refund, a reversal). A reversal undoes allocations with negative rows."""

    credit = models.ForeignKey(
        Entry, verbose_name=_("credit entry"), on_delete=models.PROTECT, related_name="allocations_out"
    )
    debit = models.ForeignKey(
        Entry, verbose_name=_("debit entry"), on_delete=models.PROTECT, related_name="allocations_in"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    #: the entry whose posting made this row (the payment, the charge consuming a prepayment, the reversal)
    cause = models.ForeignKey(
        Entry, verbose_name=_("posted with"), on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )

    display_units = {"amount": "元"}
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.amount} 元"


class DailyClose(Immutable):
    """日结 — a cashier's day: totals by payment method, the cash handed over and the difference; after it the
    day's payments are final."""

    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cashier"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("business date"))
    payments = models.PositiveIntegerField(_("payments"))
    reversals = models.PositiveIntegerField(_("reversals"))
    total = models.DecimalField(_("total taken"), max_digits=16, decimal_places=2)
    #: {method: amount as text} net of reversals
    by_method = models.JSONField(_("totals by payment method"), default=dict)
    cash_expected = models.DecimalField(_("cash expected"), max_digits=16, decimal_places=2)
    cash_handed_over = models.DecimalField(_("cash handed over"), max_digits=16, decimal_places=2)
    difference = models.DecimalField(_("difference"), max_digits=16, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed at"), default=timezone.now)

    display_units = {"total": "元", "cash_expected": "元", "cash_handed_over": "元", "difference": "元"}
    scope_unit_path = "cashier__org_unit__path"
    scope_owner = "cashier"

    class Meta:
        verbose_name = _("daily close")
        verbose_name_plural = _("daily closes")
        ordering = ["-day", "cashier"]
        constraints = [models.UniqueConstraint(fields=["cashier", "day"], name="ledger_one_close_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.total} 元"


class ApprovalRequest(models.Model):
    """待审批 — a reversal after the day (or its close) or a refund, asked for by a cashier and carried out when
    someone with the authority (permission and limit) approves it."""

    class Kind(models.TextChoices):
        REVERSAL = "reversal", _("Reversal")
        REFUND = "refund", _("Refund")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(_("request type"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    entry = models.ForeignKey(
        Entry,
        verbose_name=_("entry posted"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    display_units = {"amount": "元"}
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "requested_by"

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} 元"


class ChannelFile(models.Model):
    """对账文件 — a channel's daily file, matched against our payments by transaction id."""

    channel = models.ForeignKey(
        Channel, verbose_name=_("collection channel"), on_delete=models.PROTECT, related_name="files"
    )
    day = models.DateField(_("business date"))
    file_name = models.CharField(_("file"), max_length=200)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    only_ours = models.PositiveIntegerField(_("only ours"), default=0)
    only_theirs = models.PositiveIntegerField(_("only theirs"), default=0)
    amount_differs = models.PositiveIntegerField(_("amount differs"), default=0)
    their_total = models.DecimalField(_("their total"), max_digits=18, decimal_places=2, default=0)
    our_total = models.DecimalField(_("our total"), max_digits=18, decimal_places=2, default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    seconds = models.FloatField(_("seconds"), default=0)

    display_units = {"their_total": "元", "our_total": "元", "seconds": "秒"}
    scope_unit_path = "imported_by__org_unit__path"
    scope_owner = "imported_by"

    class Meta:
        verbose_name = _("reconciliation file")
        verbose_name_plural = _("reconciliation files")
        ordering = ["-day", "-id"]

    def __str__(self) -> str:
        return f"{self.channel.code} {self.day}"


class Difference(models.Model):
    """对账差异 — one transaction found only on one side or with another amount, until resolved."""

    class Kind(models.TextChoices):
        ONLY_OURS = "only_ours", _("Only ours")
        ONLY_THEIRS = "only_theirs", _("Only theirs")
        AMOUNT_DIFFERS = "amount_differs", _("Amount differs")

    class Resolution(models.TextChoices):
        OPEN = "open", _("Open")
        POSTED = "posted", _("Missing payment posted")
        REVERSAL_ASKED = "reversal_asked", _("Reversal of ours asked for")
        ACCEPTED = "accepted", _("Accepted with a reason")

    file = models.ForeignKey(
        ChannelFile,
        verbose_name=_("reconciliation file"),
        on_delete=models.CASCADE,
        related_name="differences",
    )
    kind = models.CharField(_("difference"), max_length=16, choices=Kind.choices)
    transaction_id = models.CharField(_("transaction id"), max_length=64)
    account_number = models.CharField(_("account number"), max_length=20, blank=True)
    their_amount = models.DecimalField(
        _("their amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    our_amount = models.DecimalField(_("our amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(
        _("resolution"), max_length=16, choices=Resolution.choices, default=Resolution.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    display_units = {"their_amount": "元", "our_amount": "元"}
    scope_unit_path = "file__imported_by__org_unit__path"
    scope_owner = "file__imported_by"

    class Meta:
        verbose_name = _("reconciliation difference")
        verbose_name_plural = _("reconciliation differences")
        ordering = ["file", "kind", "transaction_id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.transaction_id}"


# 费控 (prepaid accounts): their own module, the same app
from gridcare.ledger.prepaid_models import PrepaidAgreement as PrepaidAgreement  # noqa: E402
from gridcare.ledger.prepaid_models import PrepaidEstimate as PrepaidEstimate  # noqa: E402
from gridcare.ledger.prepaid_models import PrepaidEvent as PrepaidEvent  # noqa: E402
