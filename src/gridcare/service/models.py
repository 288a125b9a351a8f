"""Customer service desk (客户服务 / 95598 工单): work orders, their history and SLA clocks, dispatch rules,
SLA policies, callbacks (回访), repair records (维修记录单), spare parts & tools, and paid-service fees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.service.choices import (
    OPEN_STATUSES,
    Cause,
    Channel,
    ClockKind,
    Milestone,
    OrderType,
    SLAState,
    Status,
    SubType,
    Transition,
)

USER = settings.AUTH_USER_MODEL
AREA_CLASSES = [("urban", _("Urban")), ("rural", _("Rural")), ("remote", _("Remote"))]


class WorkOrder(models.Model):
    """A service work order (工单): 受理 → 派发 → 接单 → 处理中 → 回单 → 回访 → 归档.

    It belongs to several units at once — the unit that took the call (受理单位), the service station
    responsible for the address (责任供电所) and the queue it is dispatched to (处理单位) — and each of them sees it.
    """

    # unique through Meta.constraints: a unique field would also get a pattern-ops index on PostgreSQL,
    # which the number search (a partial match) cannot use
    number = models.CharField(_("work order number"), max_length=24)
    order_type = models.CharField(_("type"), max_length=16, choices=OrderType.choices)
    sub_type = models.CharField(_("sub-type"), max_length=24, choices=SubType.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.PHONE)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    paused_from = models.CharField(_("status before pause"), max_length=16, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=200, blank=True)

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
        db_index=False,  # covered by the (customer, created_at) index
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    service_point = models.ForeignKey(
        "customers.ServicePoint",
        verbose_name=_("service point"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    contact_name = models.CharField(_("caller"), max_length=60, blank=True)
    contact_phone = models.CharField(_("call-back number"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    area_text = models.CharField(_("fault area / feeder"), max_length=100, blank=True)
    area_class = models.CharField(_("area class"), max_length=8, choices=AREA_CLASSES, default="urban")
    is_key_account = models.BooleanField(_("key account"), default=False)
    is_important = models.BooleanField(_("important customer"), default=False)
    title = models.CharField(_("subject"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("responsible unit"), on_delete=models.PROTECT, related_name="+"
    )
    intake_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("intake unit"), on_delete=models.PROTECT, related_name="+"
    )
    queue_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("handling unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # covered by the (queue_unit, status) index
    )
    assignee = models.ForeignKey(
        USER,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # covered by the (assignee, status) index
    )
    created_by = models.ForeignKey(
        USER,
        verbose_name=_("registered by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # never looked up by; an index would only cost every intake an insert
    )
    master = models.ForeignKey(
        "self",
        verbose_name=_("master order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )

    created_at = models.DateTimeField(_("accepted at"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first contact at"), null=True, blank=True)
    arrival_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    restoration_at = models.DateTimeField(_("restored at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    callback_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    due_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warning from"), null=True, blank=True)
    sla_state = models.CharField(_("SLA state"), max_length=10, blank=True)  # "", ok, warning, breached
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices, blank=True)
    result = models.TextField(pgettext_lazy("work order", "result"), blank=True)
    first_contact_resolution = models.BooleanField(_("resolved at first contact"), default=False)

    display_choices = {"sla_state": SLAState}  # gridcare.web.display: labels of a field kept without choices

    scope_customer_data = True  # read as far as the position's read scope (gridcare.core.access)
    scope_unit_path = ("unit__path", "intake_unit__path", "queue_unit__path")
    scope_owner = "assignee"

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["number"], name="service_workorder_number_unique")]
        indexes = [
            models.Index(fields=["status", "order_type"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["queue_unit", "status"]),
            models.Index(fields=["created_at"]),
            models.Index(fields=["order_type", "unit", "created_at"]),
            models.Index(fields=["due_at"]),
            models.Index(fields=["warn_at"]),
            models.Index(fields=["customer", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("service:order-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class OpenOrderManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(status__in=OPEN_STATUSES)


class OpenWorkOrder(WorkOrder):
    """Open work orders only: the ownership registry moves these when the assignee leaves (孤儿客户转接);
    archived orders keep the person who handled them."""

    objects: ClassVar[OpenOrderManager] = OpenOrderManager()

    class Meta:
        proxy = True
        verbose_name = _("open work order")
        verbose_name_plural = _("open work orders")


class WorkOrderTransition(models.Model):
    """One step of a work order's history (状态流转记录), written by every action in its transaction."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=16, choices=Transition.choices)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16)
    actor = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("work order transition")
        verbose_name_plural = _("work order transitions")
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.from_status}→{self.to_status}"


class SLAPolicy(models.Model):
    """One service commitment (服务时限) as data: for a type / sub-type / area class, a milestone must be
    reached within an elapsed time or a number of working days. The most specific active row wins."""

    order_type = models.CharField(_("type"), max_length=16, choices=OrderType.choices)
    sub_type = models.CharField(_("sub-type"), max_length=24, choices=SubType.choices, blank=True)
    area_class = models.CharField(_("area class"), max_length=8, choices=AREA_CLASSES, blank=True)
    milestone = models.CharField(_("milestone"), max_length=16, choices=Milestone.choices)
    clock = models.CharField(_("clock"), max_length=8, choices=ClockKind.choices)
    amount = models.PositiveIntegerField(
        _("amount (minutes or working days)"), validators=[MinValueValidator(1)]
    )
    warn_ratio = models.DecimalField(
        _("warning at share of allowed time"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.99"))],
    )
    valid_from = models.DateField(_("valid from"), default=dt.date(2023, 1, 1))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=120, blank=True)

    #: gridcare.web.display: the limit reads "24 小时" or "3 个工作日" by its clock, the warning as a percentage
    display_units = {
        "amount": lambda policy: "minutes" if policy.clock == ClockKind.ELAPSED else "working_days",
        "warn_ratio": "ratio",
    }

    scope_public = True

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["order_type", "sub_type", "area_class", "milestone", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_type", "sub_type", "area_class", "milestone", "valid_from"],
                name="uniq_sla_policy",
            )
        ]

    def __str__(self) -> str:
        unit = _("min") if self.clock == ClockKind.ELAPSED else _("working days")
        return f"{self.get_order_type_display()} {self.sub_type} {self.area_class} {self.get_milestone_display()} {self.amount} {unit}"

    def get_absolute_url(self) -> str:
        return reverse("service:policy-edit", args=[self.pk])


class SLAClock(models.Model):
    """A running or finished clock of one milestone of one order; deadlines are cached for lists and refreshed
    by the sweep (pauses, calendar overrides)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="clocks")
    milestone = models.CharField(_("milestone"), max_length=16, choices=Milestone.choices)
    clock = models.CharField(_("clock"), max_length=8, choices=ClockKind.choices)
    amount = models.PositiveIntegerField(_("time limit"))
    warn_permille = models.PositiveSmallIntegerField(_("warning at (‰)"), default=800)
    start_at = models.DateTimeField(_("started at"))
    paused_seconds = models.BigIntegerField(_("paused seconds"), default=0)
    paused_since = models.DateTimeField(_("paused since"), null=True, blank=True)
    deadline = models.DateTimeField(_("deadline"))
    warn_at = models.DateTimeField(_("warning at"))
    done_at = models.DateTimeField(_("reached at"), null=True, blank=True)
    breached = models.BooleanField(_("breached"), null=True)
    warned_at = models.DateTimeField(_("warning sent at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    display_units = {
        "amount": lambda clock: "minutes" if clock.clock == ClockKind.ELAPSED else "working_days",
        "warn_permille": "permille",
    }
    #: gridcare.web.display: the keys of the SLA sweep's audit row
    audit_labels = {
        "clocks": _("clocks checked"),
        "warnings": _("warnings sent"),
        "escalations": _("escalations"),
        "refreshed": _("deadlines refreshed"),
        "held_back": _("held back outside working hours"),
    }

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["order", "start_at", "id"]
        indexes = [
            models.Index(fields=["order", "milestone"]),
            models.Index(fields=["done_at", "deadline"]),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.milestone} → {self.deadline:%Y-%m-%d %H:%M}"


class ServiceNotice(models.Model):
    """A warning (临期预警) or escalation (超时升级) sent to a person about a clock."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Near breach")
        ESCALATION = "escalation", _("Escalated")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="notices")
    clock = models.ForeignKey(SLAClock, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    recipient = models.ForeignKey(
        USER, verbose_name=_("recipient"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    text = models.CharField(_("text"), max_length=200, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    scope_unit_path = ("order__unit__path", "order__queue_unit__path")
    scope_owner = "recipient"

    class Meta:
        verbose_name = _("service notice")
        verbose_name_plural = _("service notices")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            # the sweep's warning / escalation of a clock is sent once, whatever runs at the same time
            models.UniqueConstraint(
                fields=["clock", "kind"],
                condition=models.Q(clock__isnull=False),
                name="uniq_notice_clock_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_id}"


class DispatchRule(models.Model):
    """派单规则 as data: the first active rule (lowest priority number) matching type, sub-type, station,
    area class and key-account flag says where an order goes — a unit's queue, a person, the service
    station's queue or the key account's manager (大客户经理)."""

    class Target(models.TextChoices):
        UNIT = "unit", _("Unit queue")
        PERSON = "person", _("Person")
        STATION = "station", _("Service station of the address")
        ACCOUNT_MANAGER = "account_manager", _("Key account manager")
        NONE = "none", _("Stay with the desk (first-contact resolution)")

    priority = models.PositiveIntegerField(_("priority"), default=100)
    name = models.CharField(_("name"), max_length=100)
    order_type = models.CharField(_("type"), max_length=16, choices=OrderType.choices, blank=True)
    sub_type = models.CharField(_("sub-type"), max_length=24, choices=SubType.choices, blank=True)
    station = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("service station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    area_class = models.CharField(_("area class"), max_length=8, choices=AREA_CLASSES, blank=True)
    key_account = models.BooleanField(_("key account"), null=True, blank=True)
    has_station = models.BooleanField(_("address has a station"), null=True, blank=True)
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    target_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("target unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_user = models.ForeignKey(
        USER,
        verbose_name=_("target person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)

    scope_public = True

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch rules")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.priority} {self.name}"


class Callback(models.Model):
    """回访 — the customer's verdict after 回单: satisfaction 1–5 with a reason."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="callbacks")
    at = models.DateTimeField(_("called back at"), default=timezone.now)
    by = models.ForeignKey(USER, verbose_name=_("by"), null=True, on_delete=models.PROTECT, related_name="+")
    reached = models.BooleanField(_("customer reached"), default=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, blank=True)  # closed / reopened / escalated

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["order", "at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="callback_satisfaction_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.satisfaction}"


class RepairRecord(models.Model):
    """维修记录单 — what the technician found and did on site."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="repair_records")
    technician = models.ForeignKey(
        USER, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="+"
    )
    cause = models.CharField(_("fault cause"), max_length=20, choices=Cause.choices)
    fault = models.TextField(_("fault found"))
    work_done = models.TextField(_("work done"))
    is_paid_service = models.BooleanField(_("paid service"), default=False)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("repair record")
        verbose_name_plural = _("repair records")
        ordering = ["order", "created_at"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_cause_display()}"


class StockItem(models.Model):
    """A spare part (备件) or tool (工具) kept by a unit's store; the quantity never goes negative."""

    class Kind(models.TextChoices):
        PART = "part", _("Spare part")
        TOOL = "tool", _("Tool")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=8, default="个")
    unit_price = models.DecimalField(
        _("unit price (元)"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    quantity = models.PositiveIntegerField(_("on hand"), default=0)
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )

    #: gridcare.web.display: the units shown after these values
    display_units = {"unit_price": "元"}

    scope_unit_path = "org_unit__path"
    scope_owner = None

    class Meta:
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=0), name="stock_not_negative")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StockMovement(models.Model):
    """Issue (领用) or return (归还) of a part or tool against a work order."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("Issued")
        RETURN = "return", _("Returned")

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="stock_movements")
    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    technician = models.ForeignKey(
        USER, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["order", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="movement_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.item_id} × {self.quantity}"


class ServiceFee(models.Model):
    """有偿服务费 recorded on a work order, to be billed later (元, 2 decimals, never float)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="fees")
    description = models.CharField(_("item"), max_length=120)
    amount = models.DecimalField(_("amount (元)"), max_digits=12, decimal_places=2)
    recorded_by = models.ForeignKey(
        USER, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    billed = models.BooleanField(_("billed"), default=False)

    display_units = {"amount": "元"}  # gridcare.web.display

    class Meta:
        verbose_name = _("service fee")
        verbose_name_plural = _("service fees")
        ordering = ["order", "recorded_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="service_fee_positive")]

    def __str__(self) -> str:
        return f"{self.description} {self.amount}"


class Compensation(models.Model):
    """服务补偿 — money credited to a customer for a service failure (a missed commitment, a justified complaint).

    Proposed on the work order; approved by someone whose authority limit (``service_compensation``) covers the
    amount and who did not propose it; the billing run credits approved ones to the account later.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="compensations")
    amount = models.DecimalField(_("amount (元)"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        USER, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        USER, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    credited = models.BooleanField(_("credited"), default=False)

    #: gridcare.web.display: the units shown after these values
    display_units = {"amount": "元"}

    scope_unit_path = ("order__unit__path", "order__intake_unit__path", "order__queue_unit__path")

    class Meta:
        verbose_name = _("service compensation")
        verbose_name_plural = _("service compensations")
        ordering = ["order", "proposed_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="service_compensation_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order.number} {self.amount} 元 {self.get_status_display()}"  # the order's number, not an id


class NumberDay(models.Model):
    """Day base of the work-order number sequence: number of day D = sequence value − base(D)."""

    day = models.DateField(primary_key=True)
    base = models.BigIntegerField()

    class Meta:
        verbose_name = _("work-order number day")
        verbose_name_plural = _("work-order number days")

    def __str__(self) -> str:
        return f"{self.day} {self.base}"
