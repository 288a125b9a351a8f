"""Billing (电费核算): billing runs split into resumable chunks, draft bills with their lines, and the accounts a
run did not bill with the reason.

A bill is a financial record: drafts may be recomputed, released ones never change (corrections are correcting
bills, 退补). One regular bill per account and period while it is not cancelled — a unique constraint, so a chunk
run twice can never bill an account twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BillingRun(models.Model):
    """电费计算批次 — one period for the whole company, a unit, a route or a list of accounts."""

    class Scope(models.TextChoices):
        COMPANY = "company", _("Whole company")
        UNIT = "unit", _("Unit")
        ROUTE = "route", _("Reading route")
        ACCOUNTS = "accounts", _("List of accounts")

    class Executor(models.TextChoices):
        INLINE = "inline", _("In this process")
        PROCESS = "process", _("Local process pool")
        CELERY = "celery", _("Celery workers")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", pgettext_lazy("billing run", "Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Finished with failed chunks")

    period = models.CharField(_("period"), max_length=7, db_index=True)
    scope = models.CharField(_("run scope"), max_length=10, choices=Scope.choices)
    #: the unit of the team that started the run (whose data scope the run is in)
    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("started at unit"),
        on_delete=models.PROTECT,
        related_name="billing_runs",
    )
    billed_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("billed unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    route = models.ForeignKey(
        "readings.Route",
        verbose_name=_("route"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billing_runs",
    )
    account_ids = models.JSONField(_("accounts"), default=list, blank=True)
    executor = models.CharField(_("executor"), max_length=8, choices=Executor.choices, default="inline")
    workers = models.PositiveSmallIntegerField(_("workers"), default=1)
    chunk_size = models.PositiveIntegerField(_("chunk size"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    accounts = models.PositiveIntegerField(_("accounts selected"), default=0)
    chunks = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    bills = models.PositiveIntegerField(_("bills"), default=0)
    not_billed = models.PositiveIntegerField(_("accounts not billed"), default=0)
    total = models.DecimalField(_("total amount"), max_digits=16, decimal_places=2, default=0)
    energy_kwh = models.DecimalField(_("energy"), max_digits=18, decimal_places=3, default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    display_units = {"total": "元", "energy_kwh": "kWh"}
    scope_unit_path = "org_unit__path"
    scope_owner = "created_by"

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period} #{self.pk} {self.get_scope_display()}"

    def get_absolute_url(self) -> str:
        return reverse("billing:run-detail", args=[self.pk])

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class RunChunk(models.Model):
    """One account-id range of a run; done once — a chunk that is done is never rated again."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", pgettext_lazy("billing run", "Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(
        BillingRun, verbose_name=_("billing run"), on_delete=models.CASCADE, related_name="parts"
    )
    number = models.PositiveIntegerField(_("chunk number"))
    first_account = models.BigIntegerField(_("first account id"))
    last_account = models.BigIntegerField(_("last account id"))
    accounts = models.PositiveIntegerField(_("accounts"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    bills = models.PositiveIntegerField(_("bills"), default=0)
    not_billed = models.PositiveIntegerField(_("accounts not billed"), default=0)
    load_ms = models.PositiveIntegerField(_("load time"), default=0)
    rate_ms = models.PositiveIntegerField(_("rating time"), default=0)
    write_ms = models.PositiveIntegerField(_("write time"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    display_units = {"load_ms": "毫秒", "rate_ms": "毫秒", "write_ms": "毫秒"}
    scope_unit_path = "run__org_unit__path"
    scope_owner = "run__created_by"

    class Meta:
        verbose_name = _("run chunk")
        verbose_name_plural = _("run chunks")
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="billing_one_chunk_number")]

    def __str__(self) -> str:
        return f"#{self.number} [{self.first_account}–{self.last_account}]"


class Bill(models.Model):
    """电费账单 — an account's bill for a period: draft → review → released, or cancelled; amounts in 元."""

    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular bill")
        CORRECTING = "correcting", _("Correcting bill (退补)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        RELEASED = "released", _("Released")
        CANCELLED = "cancelled", _("Cancelled")

    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="bills"
    )
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (exclusive)"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REGULAR)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    run = models.ForeignKey(
        BillingRun,
        verbose_name=_("billing run"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bill_set",
    )
    tariff_code = models.CharField(_("tariff code"), max_length=64)
    energy_kwh = models.DecimalField(_("energy"), max_digits=16, decimal_places=3)
    tier_ytd_kwh = models.DecimalField(
        _("tier-year energy before this bill"), max_digits=16, decimal_places=3
    )
    #: the kWh this bill adds to the tier year (阶梯年度) when it is not all of ``energy_kwh``: an account whose
    #: service points are on a tiered and a non-tiered tariff counts only the tiered part (empty: all of it)
    tier_kwh = models.DecimalField(
        _("tier-year energy of this bill"), max_digits=16, decimal_places=3, null=True, blank=True
    )
    power_factor = models.DecimalField(
        _("power factor"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    charges = models.DecimalField(_("charges (without funds)"), max_digits=14, decimal_places=2)
    funds = models.DecimalField(_("government funds"), max_digits=14, decimal_places=2)
    credits = models.DecimalField(_("compensation credited"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    #: what the bill was rated from (registers, capacity, tier year, tariff segments) — the explanation re-rates it
    inputs = models.JSONField(_("rating inputs"), default=dict)
    number = models.CharField(_("bill number"), max_length=24, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    due_date = models.DateField(pgettext_lazy("bill", "due date"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    display_units = {
        "energy_kwh": "kWh",
        "tier_ytd_kwh": "kWh",
        "charges": "元",
        "funds": "元",
        "credits": "元",
        "total": "元",
    }
    #: audit keys of the review and release that are not fields of the bill, in words
    audit_labels = {
        "released": _("bills released"),
        "asked": _("bills asked for"),
        "replaces": _("replaces the bill"),
    }
    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-period", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=models.Q(kind="regular") & ~models.Q(status="cancelled"),
                name="billing_one_regular_bill_per_period",
            ),
        ]
        indexes = [models.Index(fields=["period", "status"], name="bill_period_status")]

    def __str__(self) -> str:
        return f"{self.period} {self.account.number if self.account_id else ''} {self.total} 元"

    def get_absolute_url(self) -> str:
        return reverse("billing:bill-detail", args=[self.pk])


def price_unit(unit: str) -> str:
    """The unit of a line's unit price: 元/kWh for a quantity in kWh; a rate (the power-factor adjustment, on an
    amount in 元) is a percentage."""
    if unit == "元":
        return "rate"
    return f"元/{unit}" if unit else "元"


class BillLine(models.Model):
    """电费明细 — one line: quantity × unit price = amount (a government fund, a compensation credit …)."""

    bill = models.ForeignKey(Bill, verbose_name=_("bill"), on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    code = models.CharField(_("line code"), max_length=40)
    label = models.CharField(_("item"), max_length=80)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=3, null=True, blank=True)
    unit = models.CharField(pgettext_lazy("quantity", "unit"), max_length=8, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=6, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    compensation = models.OneToOneField(
        "service.Compensation",
        verbose_name=_("service compensation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bill_line",
    )

    display_units = {
        "amount": "元",
        "quantity": lambda line: line.unit or "",
        "unit_price": lambda line: price_unit(line.unit),
    }
    scope_customer_data = True
    scope_unit_path = "bill__account__org_unit__path"
    scope_owner = "bill__account__account_manager"

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering = ["bill", "sequence"]

    def __str__(self) -> str:
        return f"{self.label} {self.amount} 元"


class NotBilled(models.Model):
    """未出账户 — an account the run selected but did not bill, with the reason (never skipped silently)."""

    class Reason(models.TextChoices):
        MISSING_READS = "missing_reads", _("No validated reads for the period")
        OPEN_EXCEPTIONS = "open_exceptions", _("Reads held by open exceptions")
        NO_TARIFF = "no_tariff", _("No tariff assigned")
        TARIFF_ERROR = "tariff_error", _("Tariff cannot rate the account")
        MISSING_REGISTERS = "missing_registers", _("Registers the tariff needs are missing")
        MISSING_DEMAND = "missing_demand", _("Maximum demand not available")
        ALREADY_BILLED = "already_billed", _("Already billed for the period")
        SEVERAL_TARIFFS = "several_tariffs", _("Service points on different tariffs")

    run = models.ForeignKey(
        BillingRun, verbose_name=_("billing run"), on_delete=models.CASCADE, related_name="not_billed_set"
    )
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        verbose_name = _("account not billed")
        verbose_name_plural = _("accounts not billed")
        ordering = ["run", "account"]
        constraints = [models.UniqueConstraint(fields=["run", "account"], name="billing_not_billed_once")]

    def __str__(self) -> str:
        return f"{self.account.number if self.account_id else ''} {self.get_reason_display()}"


class PlausibilityRule(models.Model):
    """One plausibility rule of the billing review as the utility runs it (defaults from
    :mod:`gridcare.engine.plausibility`, editable): a bill it flags goes to review."""

    code = models.CharField(_("rule"), max_length=32, unique=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    scope_public = True  # the rules are a catalogue every signed-in user may read

    class Meta:
        verbose_name = _("plausibility rule")
        verbose_name_plural = _("plausibility rules")
        ordering = ["code"]

    def __str__(self) -> str:
        from gridcare.billing.review import rule_label

        return rule_label(self.code)


class BillFinding(models.Model):
    """异常 — what a plausibility rule found on a bill, in words; accepted by the billing accountant with a reason."""

    bill = models.ForeignKey(Bill, verbose_name=_("bill"), on_delete=models.CASCADE, related_name="findings")
    rule = models.CharField(_("rule"), max_length=32)
    detail = models.CharField(_("finding"), max_length=300)
    accepted = models.BooleanField(_("accepted"), default=False)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    scope_customer_data = True
    scope_unit_path = "bill__account__org_unit__path"
    scope_owner = "bill__account__account_manager"

    class Meta:
        verbose_name = _("bill finding")
        verbose_name_plural = _("bill findings")
        ordering = ["bill", "pk"]
        indexes = [models.Index(fields=["rule", "accepted"], name="bill_finding_rule")]

    def __str__(self) -> str:
        return self.detail

    def get_rule_display(self) -> str:
        from gridcare.billing.review import rule_label

        return rule_label(self.rule)


class Rebill(models.Model):
    """退补申请 — a cancel/rebill case: released bills of one or many accounts and periods re-rated with corrected
    inputs (RULES.md §1); the difference (and a penalty where the rules impose one) becomes a correcting bill per
    bill once the case is approved and posted. Released bills are never edited: the correcting bill points at them.

    draft → pending (above the proposer's authority limit) → approved → posted; a draft or pending case may be
    withdrawn by its proposer or rejected by an approver."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", _("Correction (差错更正)")
        METER_ERROR = "meter_error", _("Meter error (计量差错退补)")
        VIOLATION = "violation", _("Violation (违约用电)")
        THEFT = "theft", _("Theft (窃电)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        POSTED = "posted", _("Posted")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    number = models.CharField(_("case number"), max_length=24, unique=True)
    kind = models.CharField(_("rebill type"), max_length=12, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    #: the corrected inputs as given (registers per bill, tariff, error %, dates, overrun, stolen energy …)
    params = models.JSONField(_("corrected inputs"), default=dict)
    #: the lowest unit holding every account of the case (its data scope)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="rebills"
    )
    difference = models.DecimalField(_("difference"), max_digits=14, decimal_places=2, default=0)
    penalty = models.DecimalField(_("penalty"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("total of the case"), max_digits=14, decimal_places=2, default=0)
    #: what the authority limit is checked against: the sum of the absolute amounts of the correcting bills
    authority_amount = models.DecimalField(
        _("amount for approval"), max_digits=14, decimal_places=2, default=0
    )
    #: the positions that may approve it (names, when it went to approval)
    approvers = models.CharField(_("who may approve"), max_length=300, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)

    display_units = {"difference": "元", "penalty": "元", "total": "元", "authority_amount": "元"}
    scope_customer_data = True
    scope_unit_path = "org_unit__path"
    scope_owner = "proposed_by"

    class Meta:
        verbose_name = _("rebill")
        verbose_name_plural = _("rebills")
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="rebill_status_kind")]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    def get_absolute_url(self) -> str:
        return reverse("billing:rebill-detail", args=[self.pk])


class RebillItem(models.Model):
    """One bill a rebill corrects: its amounts before and after the re-rate, the penalty, the explanation (the
    original, corrected and difference lines, notes in words) and, once posted, its correcting bill."""

    rebill = models.ForeignKey(
        Rebill, verbose_name=_("rebill"), on_delete=models.CASCADE, related_name="items"
    )
    bill = models.ForeignKey(
        Bill, verbose_name=_("corrected bill"), on_delete=models.PROTECT, related_name="rebill_items"
    )
    correcting_bill = models.OneToOneField(
        Bill,
        verbose_name=_("correcting bill"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="correction_of",
    )
    original_total = models.DecimalField(_("amount before"), max_digits=14, decimal_places=2)
    corrected_total = models.DecimalField(_("amount re-rated"), max_digits=14, decimal_places=2)
    difference = models.DecimalField(_("difference"), max_digits=14, decimal_places=2)
    penalty = models.DecimalField(_("penalty"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("correcting amount"), max_digits=14, decimal_places=2)
    energy_difference = models.DecimalField(
        _("energy difference"), max_digits=16, decimal_places=3, default=0
    )
    #: {"notes": [...], "original": [lines], "corrected": [lines], "lines": [difference lines], "usages": [...]}
    explanation = models.JSONField(_("explanation"), default=dict)

    display_units = {
        "original_total": "元",
        "corrected_total": "元",
        "difference": "元",
        "penalty": "元",
        "total": "元",
        "energy_difference": "kWh",
    }
    scope_customer_data = True
    scope_unit_path = "bill__account__org_unit__path"
    scope_owner = "rebill__proposed_by"

    class Meta:
        verbose_name = _("rebill item")
        verbose_name_plural = _("rebill items")
        ordering = ["rebill", "bill__period", "bill__account", "pk"]
        constraints = [models.UniqueConstraint(fields=["rebill", "bill"], name="billing_rebill_bill_once")]

    def __str__(self) -> str:
        return f"{self.bill.period} {self.total} 元"


class SalesPlan(models.Model):
    """售电计划 — the kWh and revenue a unit is to sell in one month (营销服务部经理 sets the year's plan): the
    target of 售电量完成率 and 售电收入完成率. A target, not a financial record: it may be changed, but only
    through the audited action (:func:`gridcare.billing.actions.do_set_sales_plan`)."""

    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="sales_plans"
    )
    month = models.DateField(_("month"), help_text=_("the first day of the month"))
    kwh = models.DecimalField(_("planned energy"), max_digits=16, decimal_places=3)
    revenue = models.DecimalField(_("planned revenue"), max_digits=16, decimal_places=2)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(_("set at"), default=timezone.now)

    display_units = {"kwh": "kWh", "revenue": "元"}
    scope_unit_path = "org_unit__path"

    class Meta:
        verbose_name = _("sales plan")
        verbose_name_plural = _("sales plans")
        ordering = ["org_unit__path", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit", "month"], name="billing_one_sales_plan_per_unit_month"
            ),
            models.CheckConstraint(
                condition=models.Q(kwh__gte=0) & models.Q(revenue__gte=0),
                name="billing_sales_plan_not_negative",
            ),
        ]

    def __str__(self) -> str:
        unit = self.org_unit.name if self.org_unit_id else ""
        return f"{unit} {self.month:%Y-%m}"
