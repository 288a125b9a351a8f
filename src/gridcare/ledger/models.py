"""The account ledger (账务): immutable entries, payments with their allocations, cashier daily closes, payment
channels (代收) and their reconciliation files.

Every amount is exact (Decimal, 元, 2 decimals). An entry's sign says what it does to what the account owes:
a bill charge or a late fee is positive, a payment negative. The balance of an account is the sum of its entries
(never stored); the company's receivable (应收电费余额) is the sum of all entries. Entries, payments and allocations
are never changed or deleted — a mistake is corrected by a new entry (a reversal, a refund); the database refuses
an UPDATE or DELETE (PostgreSQL triggers, see migration 0002) and so does the model (:class:`Immutable`).

The ledger's references to accounts, users, channels, payments and entries carry no per-row database check
(``db_constraint=False``, listed in :data:`UNCHECKED_REFERENCES`): posting a million payments spent half its time
checking them (≈ 12 checks a payment). Each points at a row the database never lets go instead — a payment or an
entry is never deleted, and an account, a user or a channel cannot be deleted while a ledger row names it
(PostgreSQL guard triggers, ledger 0009; the models' ``PROTECT`` everywhere) — and ``gridcare ledger check`` finds
any reference that does not resolve.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core import models as core_models

IMMUTABLE_MESSAGE = "账务记录不可修改或删除 (ledger records are never changed or deleted)"


class Immutable(core_models.Immutable):
    """A financial record: inserted once, never saved again nor deleted through the ORM."""

    immutable_message = IMMUTABLE_MESSAGE

    class Meta:
        abstract = True


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
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="payments",
        db_constraint=False,  # see UNCHECKED_REFERENCES
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
        db_constraint=False,
    )
    #: the channel's transaction id (流水号): unique per channel
    transaction_id = models.CharField(_("transaction id"), max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL for counter payments: the unique constraint leaves them out
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # (the index on cashier and day serves it)
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
        db_constraint=False,
        db_index=False,  # (the index on account and kind serves it)
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
        db_constraint=False,
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
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    display_units = {"amount": "元"}
    #: audit keys of the late-fee job and postings that are not fields of the entry, in words
    audit_labels = {"until": _("accrued up to"), "posted": _("entries posted")}
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
            # a late fee accrued up to a day (``day``) is posted once per bill: two runs of the month-end job,
            # or the job and a payment, never post the same accrual twice
            models.UniqueConstraint(
                fields=["bill", "day"],
                condition=models.Q(kind="late_fee"),
                name="ledger_late_fee_once_per_bill_day",
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
        Entry,
        verbose_name=_("credit entry"),
        on_delete=models.PROTECT,
        related_name="allocations_out",
        db_constraint=False,
    )
    debit = models.ForeignKey(
        Entry,
        verbose_name=_("debit entry"),
        on_delete=models.PROTECT,
        related_name="allocations_in",
        db_constraint=False,
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    #: the entry whose posting made this row (the payment, the charge consuming a prepayment, the reversal)
    cause = models.ForeignKey(
        Entry, verbose_name=_("posted with"), on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    #: the credit's day, kept with the row (both are immutable, so the copy cannot drift): the monthly credit
    #: scores date each settlement from the allocations alone, without scanning the credits (10 M at 1 M accounts)
    credit_day = models.DateField(_("credit's day"))

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

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and self.credit_day is None:
            self.credit_day = self.credit.day
        super().save(*args, **kwargs)


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
    """待审批 — a reversal after the day (or its close), a refund, a late-fee waiver (减免) or a write-off (坏账核销),
    asked for by a cashier or collector and carried out when someone with the authority (permission and limit)
    approves it."""

    class Kind(models.TextChoices):
        REVERSAL = "reversal", _("Reversal")
        REFUND = "refund", _("Refund")
        WAIVER = "waiver", _("Late-fee waiver")
        WRITE_OFF = "write_off", _("Write-off")

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
    #: the entry a waiver (a late fee) or a write-off (a bill charge or late fee) concerns
    concerns = models.ForeignKey(
        Entry,
        verbose_name=_("concerns the entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
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
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
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
        db_constraint=False,
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


class DunningCase(models.Model):
    """催费案件 — one account's way through the dunning ladder (催费 → 停电审批 → 停电通知书 → 停电 → 复电) while its
    arrears are overdue. The case row holds where it stands (the last step done, for the engine's ladder); what
    happened is in its immutable :class:`DunningStep` records. One open case per account (a unique constraint: two
    runs of the dunning job at once never open two)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="dunning_cases"
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    #: the last step done, an engine step code (gridcare.engine.dunning: 0 none … 5 reconnect)
    last_step = models.PositiveSmallIntegerField(_("last step"), default=0)
    last_step_at = models.DateTimeField(_("last step at"), null=True, blank=True)
    #: a disconnection approval asked for and not yet decided
    approval_pending = models.BooleanField(_("approval pending"), default=False)
    important = models.BooleanField(_("important customer"), default=False)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    #: audit keys of the dunning job and of the steps written on the case, in words
    audit_labels = {
        "dry_run": _("dry run"),
        "reminders": _("reminders sent"),
        "settled": _("cases settled"),
        "reconnected": _("reconnections ordered"),
        "due": _("steps due"),
        "arrears": _("arrears"),
        "overdue_days": _("overdue days"),
        "to": _("to whom"),
        "step": _("step"),
        "recipient": _("to whom"),
        "channel": _("how"),
        "outcome": _("outcome"),
        "work_order": _("work order"),
    }
    #: audit keys whose values are a step's (``step`` = its kind, ``channel`` = how it was delivered): their fields,
    #: so the audit log shows the labels (filled in below, once DunningStep exists)
    audit_fields: ClassVar[dict[str, models.Field[Any, Any]]] = {}
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("dunning case")
        verbose_name_plural = _("dunning cases")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(status="open"), name="ledger_one_open_dunning_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account.number if self.account_id else ''} #{self.pk}"


class DunningStep(Immutable):
    """催费记录 — one step of a case, never changed: a reminder sent (how, to whom, the gateway's answer), an approval
    asked for / given / refused, the 停电通知书 issued and its delivery (who, how — 当面/留置/邮寄/短信 — when), the notice
    to the authority for an important customer, the 30-minute reminder, the disconnection (work order or remote
    command) and the reconnection. Each kind happens once per case (a unique constraint)."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder sent")
        APPROVAL_ASKED = "approval_asked", _("Disconnection approval asked for")
        APPROVED = "approved", _("Disconnection approved")
        REJECTED = "rejected", _("Disconnection refused")
        NOTICE = "notice", _("Disconnection notice issued")
        DELIVERED = "delivered", _("Notice delivered")
        AUTHORITY = "authority", _("Authority notified")
        PRE_REMINDER = "pre_reminder", _("Reminder before disconnection")
        DISCONNECTED = "disconnected", _("Disconnection ordered")
        RECONNECTED = "reconnected", _("Reconnection ordered")
        SETTLED = "settled", _("Arrears settled")

    class Delivery(models.TextChoices):
        IN_PERSON = "in_person", _("In person")  # 当面送达
        LEFT = "left", _("Left at the premises")  # 留置送达
        POST = "post", _("By post")  # 邮寄送达
        SMS = "sms", _("By SMS")  # 短信送达

    case = models.ForeignKey(
        DunningCase, verbose_name=_("dunning case"), on_delete=models.PROTECT, related_name="steps"
    )
    kind = models.CharField(_("step"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    #: how (reminder: sms/notice/…; delivery: one of :class:`Delivery`; disconnection: field/remote)
    channel = models.CharField(_("how"), max_length=16, blank=True)
    #: to whom (a phone number, the person who received the notice, the authority)
    recipient = models.CharField(_("to whom"), max_length=100, blank=True)
    arrears = models.DecimalField(_("arrears"), max_digits=14, decimal_places=2, default=0)
    overdue_days = models.IntegerField(_("overdue days"), default=0)
    #: the gateway's or head-end's answer, or the approver's note
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    work_order = models.ForeignKey(
        "service.WorkOrder",
        verbose_name=_("work order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    display_units = {"arrears": "元", "overdue_days": "天"}
    scope_customer_data = True
    scope_unit_path = "case__account__org_unit__path"
    scope_owner = "case__account__account_manager"

    class Meta:
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")
        ordering = ["case", "at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="ledger_dunning_step_once_per_case")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


DunningCase.audit_fields = {
    "step": DunningStep._meta.get_field("kind"),
    "channel": models.CharField(_("how"), max_length=16, choices=DunningStep.Delivery.choices),
}


class PaymentPlan(models.Model):
    """灵活付款方案 — arrears of an account paid in instalments by their due dates, set by the key account manager
    within the ``payment_plan_amount`` limit (above it: approved by a position whose limit covers it, never by the
    one who set it). In force, it suspends dunning; a missed instalment (the daily job) breaks it and dunning resumes
    where it was. Instalments are ordinary payments; the plan tracks what was paid by each due date."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        IN_FORCE = "in_force", _("In force")
        COMPLETED = "completed", _("Completed")
        BROKEN = "broken", _("Broken (instalment missed)")
        REJECTED = "rejected", _("Rejected")

    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="payment_plans"
    )
    amount = models.DecimalField(_("arrears covered"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=200)
    start_day = models.DateField(_("start date"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    display_units = {"amount": "元"}
    audit_labels = {
        "instalments": _("instalments"),
        "paid": _("paid since the start"),
        "broken": _("plans broken"),
        "completed": _("plans completed"),
    }
    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("payment plan")
        verbose_name_plural = _("payment plans")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status__in=["pending", "in_force"]),
                name="ledger_one_live_payment_plan",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_plan_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.account.number if self.account_id else ''} {self.amount} 元"


class Instalment(Immutable):
    """分期 — one instalment of a plan: the amount due by the date (never changed; a new plan replaces a plan)."""

    plan = models.ForeignKey(
        PaymentPlan, verbose_name=_("payment plan"), on_delete=models.PROTECT, related_name="instalments"
    )
    number = models.PositiveSmallIntegerField(_("instalment"))
    due_date = models.DateField(pgettext_lazy("bill", "due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    display_units = {"amount": "元"}
    scope_customer_data = True
    scope_unit_path = "plan__account__org_unit__path"
    scope_owner = "plan__account__account_manager"

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="ledger_instalment_number_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_instalment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.due_date} {self.amount} 元"


#: (model, field) of the references kept without a per-row database check (see the module's docstring)
UNCHECKED_REFERENCES: list[tuple[type[models.Model], str]] = [
    (Payment, "account"),
    (Payment, "channel"),
    (Payment, "cashier"),
    (Entry, "account"),
    (Entry, "payment"),
    (Entry, "posted_by"),
    (Allocation, "credit"),
    (Allocation, "debit"),
    (Allocation, "cause"),
    (Allocation, "account"),
    (Difference, "payment"),
    (Difference, "resolved_by"),
]


# 费控 (prepaid accounts): their own module, the same app
from gridcare.ledger.prepaid_models import PrepaidAgreement as PrepaidAgreement  # noqa: E402
from gridcare.ledger.prepaid_models import PrepaidEstimate as PrepaidEstimate  # noqa: E402
from gridcare.ledger.prepaid_models import PrepaidEvent as PrepaidEvent  # noqa: E402
