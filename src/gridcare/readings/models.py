"""Meter reading (抄表): routes and their stops, monthly reading tasks, register reads, VEE exceptions and the
editable VEE rule settings. Calculations live in :mod:`gridcare.engine.consumption` and :mod:`gridcare.engine.vee`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from gridcare.metering.models import Register


class Route(models.Model):
    """抄表段 — service points read by one reader on a fixed reading day (抄表例日), in walking order."""

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        BIMONTHLY = "bimonthly", _("Every two months")

    class Mode(models.TextChoices):
        MANUAL = "manual", _("Read on site")
        REMOTE = "remote", _("Remote reading")

    number = models.CharField(_("route number"), max_length=24, unique=True)
    name = models.CharField(_("name"), max_length=80)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="reading_routes"
    )
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reader"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reading_routes",
    )
    reading_day = models.PositiveSmallIntegerField(_("reading day"))
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    mode = models.CharField(_("reading mode"), max_length=8, choices=Mode.choices, default=Mode.MANUAL)
    remote_since = models.DateField(_("remote reading since"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_unit_path = "org_unit__path"
    scope_owner = "reader"

    class Meta:
        verbose_name = _("reading route")
        verbose_name_plural = _("reading routes")
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reading_day__gte=1, reading_day__lte=28), name="route_reading_day_1_28"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("readings:route-read", args=[self.pk])


class RouteStop(models.Model):
    """A service point on a route; ``sequence`` is the walking order. A service point is on one route only."""

    route = models.ForeignKey(Route, verbose_name=_("route"), on_delete=models.CASCADE, related_name="stops")
    service_point = models.OneToOneField(
        "customers.ServicePoint",
        verbose_name=_("service point"),
        on_delete=models.PROTECT,
        related_name="route_stop",
    )
    sequence = models.PositiveIntegerField(_("sequence"))

    scope_unit_path = "route__org_unit__path"
    scope_owner = "route__reader"

    class Meta:
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        ordering = ["route", "sequence"]
        indexes = [models.Index(fields=["route", "sequence"], name="routestop_route_sequence")]

    def __str__(self) -> str:
        return f"{self.route_id}#{self.sequence} {self.service_point_id}"


class ReadingTask(models.Model):
    """抄表任务 — one register of one meter to be read in a period ("YYYY-MM") on a route."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To read")
        READ = "read", _("Read, under review")
        EXCEPTION = "exception", _("Exception")
        VALIDATED = "validated", _("Validated")
        ESTIMATED = "estimated", _("Estimated")
        REREAD = "reread", _("Re-read ordered")

    route = models.ForeignKey(Route, verbose_name=_("route"), on_delete=models.PROTECT, related_name="tasks")
    period = models.CharField(_("period"), max_length=7)
    meter = models.ForeignKey(
        "metering.Meter", verbose_name=_("meter"), on_delete=models.PROTECT, related_name="reading_tasks"
    )
    register = models.CharField(_("register"), max_length=16, choices=Register.choices)
    service_point = models.ForeignKey(
        "customers.ServicePoint", verbose_name=_("service point"), on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.PositiveIntegerField(_("sequence"), default=0)
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned reader"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "route__org_unit__path"
    scope_owner = "route__reader"

    class Meta:
        verbose_name = _("reading task")
        verbose_name_plural = _("reading tasks")
        ordering = ["route", "period", "sequence", "meter", "register"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "meter", "register"], name="one_task_per_register_period"
            ),
        ]
        # not ``status``: a status change (the period VEE moves thousands) then leaves every index as it is, so
        # PostgreSQL can update the row in place on its page (a HOT update; fillfactor 90, migration 0005)
        indexes = [models.Index(fields=["route", "period"], name="task_route_period")]

    def __str__(self) -> str:
        return f"{self.period} {self.get_register_display()}"


class Condition(models.TextChoices):
    """表况 — what the reader found at the meter."""

    NORMAL = "normal", _("Normal (正常)")
    STOPPED = "stopped", _("Stopped (停走)")
    REVERSE = "reverse", _("Running backwards (倒走)")
    BURNT = "burnt", _("Burnt (烧表)")
    SEAL = "seal", _("Seal anomaly (封印异常)")
    NO_ACCESS = "no_access", _("Door closed, not read (门闭无法抄表)")
    FAULT = "fault", _("Meter fault (表计故障)")


class MeterRead(models.Model):
    """一次抄见示数 — one register read from a reader, an import, a head-end system or an estimate.

    Never overwritten: a correction is a new read and the old one is ``superseded``. ``quantity`` is the
    consumption since the previous read (multiplier applied, kWh), set by the one consumption path.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by a reader")
        IMPORT = "import", _("File import")
        HEADEND = "headend", _("Head-end system")
        ESTIMATE = "estimate", _("Estimate")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        HELD = "held", _("Held by an exception")
        ESTIMATED = "estimated", _("Estimate awaiting approval")
        SUPERSEDED = "superseded", _("Superseded")

    meter = models.ForeignKey(
        "metering.Meter", verbose_name=_("meter"), on_delete=models.PROTECT, related_name="reads"
    )
    register = models.CharField(_("register"), max_length=16, choices=Register.choices)
    read_at = models.DateTimeField(pgettext_lazy("meter reading", "read at"))
    value = models.DecimalField(_("read"), max_digits=16, decimal_places=2)
    source = models.CharField(pgettext_lazy("meter reading", "source"), max_length=10, choices=Source.choices)
    condition = models.CharField(
        _("meter condition"), max_length=10, choices=Condition.choices, default=Condition.NORMAL
    )
    service_point = models.ForeignKey(
        "customers.ServicePoint", verbose_name=_("service point"), on_delete=models.PROTECT, related_name="+"
    )
    period = models.CharField(_("period"), max_length=7, db_index=True)
    task = models.ForeignKey(
        ReadingTask,
        verbose_name=_("task"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reads",
    )
    multiplier = models.PositiveIntegerField(_("multiplier"), default=1)
    quantity = models.DecimalField(_("consumption"), max_digits=18, decimal_places=3, null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.VALID)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "service_point__org_unit__path"
    scope_owner = "task__route__reader"

    class Meta:
        verbose_name = _("meter read")
        verbose_name_plural = _("meter reads")
        ordering = ["-read_at", "meter", "register"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "register", "read_at", "source"],
                condition=~models.Q(status="superseded"),
                name="one_live_read_per_key",
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="meter_read_not_negative"),
        ]
        indexes = [
            models.Index(fields=["meter", "register", "read_at"], name="read_meter_register_at"),
            models.Index(fields=["service_point", "period"], name="read_point_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_register_display()} {timezone.localtime(self.read_at):%Y-%m-%d %H:%M} {self.value}"


class ReadException(models.Model):
    """VEE 异常 — a failed rule (or a conflicting replay) waiting for a decision."""

    class Severity(models.TextChoices):
        BLOCK = "block", _("Blocks billing")
        WARN = "warn", _("Warning")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", pgettext_lazy("meter reading", "Accepted")
        CORRECTED = "corrected", _("Corrected")
        REREAD_ORDERED = "reread_ordered", _("Re-read ordered")
        ESTIMATED = "estimated", _("Estimated, awaiting approval")
        APPROVED = "approved", _("Estimate approved")
        CLEARED = "cleared", _("Cleared by re-validation")

    read = models.ForeignKey(
        MeterRead,
        verbose_name=_("read"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exceptions",
    )
    task = models.ForeignKey(
        ReadingTask,
        verbose_name=_("task"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exceptions",
    )
    service_point = models.ForeignKey(
        "customers.ServicePoint", verbose_name=_("service point"), on_delete=models.PROTECT, related_name="+"
    )
    period = models.CharField(_("period"), max_length=7)
    rule = models.CharField(_("rule"), max_length=32)
    severity = models.CharField(_("severity"), max_length=5, choices=Severity.choices)
    message = models.CharField(_("message"), max_length=300)
    proposed_value = models.DecimalField(
        _("conflicting value"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    estimate = models.ForeignKey(
        MeterRead, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "service_point__org_unit__path"
    scope_owner = "task__route__reader"

    class Meta:
        verbose_name = _("reading exception")
        verbose_name_plural = _("reading exceptions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "period"], name="exception_status_period")]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} {self.period} {self.service_point_id}"

    def get_absolute_url(self) -> str:
        name = (
            "readings:exception-approve"
            if self.status == self.Status.ESTIMATED
            else "readings:exception-decide"
        )
        return reverse(name, args=[self.pk])

    def get_rule_display(self) -> str:
        return rule_label(self.rule)

    def get_message_display(self) -> str:
        """The message in the reader's language: messages are stored "中文 (English)" (engine ``vee.message``)."""
        chinese, bracket, english = self.message.partition(" (")
        if bracket and english.endswith(")") and get_language() == "en":
            return english[:-1]
        return chinese if bracket else self.message


#: VEE rule code → what staff call it (the exception queue, the rule settings); the engine's codes
#: (:data:`gridcare.engine.vee.DEFAULT_RULES`) and the capture path's conflicting replay
RULE_LABELS = {
    "read_out_of_range": _("Read beyond the register"),
    "missing_read": _("Missing read"),
    "reverse_running": _("Reverse running"),
    "rollover": _("Register rollover"),
    "zero_consumption": _("Zero consumption"),
    "surge_previous": _("Surge or drop vs the previous period"),
    "surge_last_year": _("Surge or drop vs the same month last year"),
    "tou_sum": _("Time-of-use registers do not add up to the total"),
    "demand_over_capacity": _("Maximum demand above capacity"),
    "energy_over_capacity": _("Energy above capacity × hours"),
    "multiplier_change": _("Multiplier changed"),
    "outside_window": _("Read outside the reading window"),
    "estimated_new_remote": _("Estimate in the first remote-reading cycles"),
    "conflicting_replay": _("Conflicting duplicate read"),
}


def rule_label(code: str) -> str:
    return str(RULE_LABELS.get(code, code))


class HeadEndRead(models.Model):
    """采集接收 — a register read as a head-end system sent it, received and checked in the request, settled later
    through the capture path (which makes it a :class:`MeterRead`, with consumption, VEE and the task).

    Lean on purpose (the receipt of 50,000 reads a second writes here): no foreign-key constraints (the ids come
    from the lookup of the same transaction; meters, users and reads are never deleted), one unique key (meter,
    register, read time) — a replay with the same value is a duplicate, with another value a conflict — and one
    partial index on the receipts still to settle. ``conflicts`` holds the other values received for the key while
    it waited (each is settled after it, as the capture path would take a conflicting replay)."""

    meter = models.ForeignKey(
        "metering.Meter", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    register = models.CharField(_("register"), max_length=16, choices=Register.choices)
    read_at = models.DateTimeField(pgettext_lazy("meter reading", "read at"))
    value = models.DecimalField(_("read"), max_digits=16, decimal_places=2)
    condition = models.CharField(
        _("meter condition"), max_length=10, choices=Condition.choices, default=Condition.NORMAL
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    received_at = models.DateTimeField(_("received at"))
    conflicts = models.JSONField(_("conflicting values"), default=list, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, blank=True)  # a capture result (words on screens)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    settled_read = models.ForeignKey(
        MeterRead, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip

    scope_unit_path = "meter__org_unit__path"

    class Meta:
        verbose_name = _("head-end receipt")
        verbose_name_plural = _("head-end receipts")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "register", "read_at"], name="one_receipt_per_key"),
        ]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(settled_at__isnull=True), name="receipt_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.register} {timezone.localtime(self.read_at):%Y-%m-%d %H:%M} {self.value}"


class VeeRuleSetting(models.Model):
    """One VEE rule as the utility runs it: severity and parameters (defaults from the engine, editable)."""

    code = models.CharField(_("rule"), max_length=32, unique=True)
    severity = models.CharField(_("severity"), max_length=5, choices=ReadException.Severity.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    scope_public = True  # the rules are a catalogue every signed-in user may read

    class Meta:
        verbose_name = _("VEE rule")
        verbose_name_plural = _("VEE rules")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.get_code_display()} ({self.get_severity_display()})"

    def get_code_display(self) -> str:
        return rule_label(self.code)


class IntervalDay(models.Model):
    """采集日结果 — the checks of one meter-day of 15-minute data (the reads themselves are in the interval store).

    A small table rather than a Parquet file beside the data: the screens filter it by unit, day and problem
    through the one scope filter (:func:`gridcare.core.access.restrict`), page it and link its rows, and a new
    batch for a day updates its row — things a database does and a directory of append-only files does not.
    ``received`` is recounted from the store after each batch (distinct intervals: the truth even after a retried
    batch); the problem counters add up over the batches of the day.
    """

    meter = models.ForeignKey(
        "metering.Meter", verbose_name=_("meter"), on_delete=models.PROTECT, related_name="interval_days"
    )
    service_point = models.ForeignKey(
        "customers.ServicePoint", verbose_name=_("service point"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("day"))
    expected = models.PositiveIntegerField(_("intervals expected"))
    received = models.PositiveIntegerField(_("intervals received"))
    gaps = models.PositiveIntegerField(_("missing intervals"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    conflicts = models.PositiveIntegerField(_("conflicting values"), default=0)
    rejected = models.PositiveIntegerField(_("rejected values"), default=0)
    spikes = models.PositiveIntegerField(_("spikes"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = "service_point__org_unit__path"
    scope_owner = "service_point__account__account_manager"
    #: the counts an ingest batch writes to its audit row (gridcare.web.display)
    audit_labels = {
        "written": _("intervals written"),
        "duplicates": _("intervals repeated (harmless)"),
        "meter_days": _("meter-days checked"),
        "meter_days_with_problems": _("meter-days with problems"),
    }

    class Meta:
        verbose_name = _("interval data day")
        verbose_name_plural = _("interval data days")
        ordering = ["-day", "meter"]
        constraints = [models.UniqueConstraint(fields=["meter", "day"], name="one_interval_day_per_meter")]
        indexes = [models.Index(fields=["day", "service_point"], name="intervalday_day_point")]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.day:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        """The customer's load curve of that day (the 用电曲线 tab of the 360 page)."""
        account = self.service_point.account
        url = reverse("customers:customer-detail", args=[account.customer_id])
        return f"{url}?tab=intervals&account={account.pk}&day={self.day:%Y-%m-%d}"

    @property
    def collection_rate(self) -> Decimal | None:
        """采集成功率 of the day in percent (one decimal)."""
        if not self.expected:
            return None
        return (Decimal(self.received * 100) / Decimal(self.expected)).quantize(Decimal("0.1"))

    @property
    def has_problem(self) -> bool:
        return bool(self.gaps or self.conflicts or self.rejected or self.spikes)
