"""Key accounts (大客户) and market development (客户开发): classification rules, portfolios, visit plans and visit
records, prospects (备案客户) and the registration collisions (撞单) refused on the way."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridcare.core.fields import NumberListField
from gridcare.core.models import Immutable

RULES_IMMUTABLE = "信用评价规则的版本不可修改或删除，请另存为新版本。 (A rules version is never changed or deleted: save a new one.)"


class Grade(models.TextChoices):
    """重要用户等级 — the importance grade of a key account (GB/T 29328 重要电力用户), or an ordinary key account."""

    FIRST = "first", _("Important, grade 1")  # 一级重要用户
    SECOND = "second", _("Important, grade 2")  # 二级重要用户
    TEMPORARY = "temporary", _("Important, temporary")  # 临时性重要用户
    GENERAL = "general", _("General key account")  # 一般大客户


class KeyAccountRule(models.Model):
    """大客户认定规则 — an account is a key account when an enabled rule matches it (lowest priority number
    first); the rule gives its grade. Empty criteria match everything."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=60)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    grade = models.CharField(_("importance grade"), max_length=12, choices=Grade.choices)
    min_capacity_kva = models.DecimalField(
        _("minimum capacity (kVA)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    min_annual_kwh = models.DecimalField(
        _("minimum annual consumption (kWh)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    customer_classes = models.JSONField(_("customer classes (industry)"), default=list, blank=True)
    important_only = models.BooleanField(_("important customers only"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)

    scope_public = True  # the rules are data every signed-in user may read

    class Meta:
        ordering = ["priority", "code"]
        verbose_name = _("key-account rule")
        verbose_name_plural = _("key-account rules")

    def __str__(self) -> str:
        return self.name


class KeyAccount(models.Model):
    """大客户档案 — an account classified (or designated by hand) as a key account; its manager is the account's
    customer manager (客户经理), so a leaver's portfolio moves with the accounts."""

    account = models.OneToOneField(
        "customers.Account", on_delete=models.PROTECT, related_name="key_account", verbose_name=_("account")
    )
    grade = models.CharField(_("importance grade"), max_length=12, choices=Grade.choices)
    rule = models.ForeignKey(
        KeyAccountRule, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("rule")
    )
    manual = models.BooleanField(_("designated by hand"), default=False)
    active = models.BooleanField(_("active"), default=True)
    capacity_kva = models.DecimalField(_("capacity (kVA)"), max_digits=12, decimal_places=2, default=0)
    annual_kwh = models.DecimalField(
        _("annual consumption (kWh)"), max_digits=16, decimal_places=2, default=0
    )
    designated_on = models.DateField(_("designated on"), default=timezone.localdate)

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"
    display_units: ClassVar[dict[str, str]] = {"capacity_kva": "kVA", "annual_kwh": "kWh"}

    class Meta:
        ordering = ["account__number"]
        verbose_name = _("key account")
        verbose_name_plural = _("key accounts")

    def __str__(self) -> str:
        return f"{self.account.number} {self.account.name}"

    def get_absolute_url(self) -> str:
        return reverse("keyaccounts:account-detail", args=[self.pk])


class Visit(models.Model):
    """大客户回访记录 — one visit: when, whom the manager met, what was discussed and asked for, what follows."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="key_visits", verbose_name=_("account")
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("visited by")
    )
    visited_on = models.DateField(_("visited on"))
    people_met = models.CharField(_("people met"), max_length=200)
    topics = models.TextField(_("topics"))
    demands = models.TextField(_("demands raised"), blank=True)
    follow_up = models.TextField(_("follow-up actions"), blank=True)
    work_order = models.ForeignKey(
        "service.WorkOrder",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("follow-up work order"),
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "manager"

    class Meta:
        ordering = ["-visited_on", "-pk"]
        verbose_name = _("key-account visit")
        verbose_name_plural = _("key-account visits")

    def __str__(self) -> str:
        return f"{self.visited_on} {self.account.name}"


class VisitPlanItem(models.Model):
    """大客户回访计划 — one planned visit of a manager's annual plan (generated from the grade's frequency,
    editable); done when a visit is recorded against it."""

    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("visit plan", "Planned")
        DONE = "done", pgettext_lazy("visit plan", "Done")
        CANCELLED = "cancelled", pgettext_lazy("visit plan", "Cancelled")

    year = models.PositiveSmallIntegerField(_("year"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("manager")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    planned_on = models.DateField(_("planned on"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    visit = models.OneToOneField(
        Visit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plan_item",
        verbose_name=_("visit"),
    )

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "manager"

    class Meta:
        ordering = ["planned_on", "pk"]
        verbose_name = _("planned visit")
        verbose_name_plural = _("planned visits")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "planned_on"], name="keyaccounts_visit_plan_once_a_day"
            )
        ]
        indexes = [models.Index(fields=["manager", "year", "status"], name="keyaccounts_plan_manager")]

    def __str__(self) -> str:
        return f"{self.planned_on} {self.account.name}"


class OpenVisitManager(models.Manager["OpenVisitPlanItem"]):
    def get_queryset(self) -> models.QuerySet[OpenVisitPlanItem]:
        return super().get_queryset().filter(status=VisitPlanItem.Status.PLANNED)


class OpenVisitPlanItem(VisitPlanItem):
    """Planned visits not yet made: they move to the successor when a manager leaves (孤儿客户转接); done visits
    keep the person who made them."""

    objects: ClassVar[OpenVisitManager] = OpenVisitManager()

    class Meta:
        proxy = True
        verbose_name = _("open planned visit")
        verbose_name_plural = _("open planned visits")


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    CHEMICALS = "chemicals", _("Chemicals")
    METALS = "metals", _("Metals & building materials")
    DATA_CENTRE = "data_centre", _("Data centre & IT")
    COMMERCE = "commerce", _("Commerce & services")
    REAL_ESTATE = "real_estate", _("Real estate")
    PUBLIC = "public", _("Public institutions")
    AGRICULTURE = "agriculture", _("Agriculture")
    OTHER = "other", _("Other industry")


class Prospect(models.Model):
    """备案客户 — a company a salesperson develops (客户开发计划): registered to its owner, who alone (with the
    managers above) sees it until it is won (客户信息保密); free again after a period without activity."""

    class Stage(models.TextChoices):
        LEAD = "lead", _("Lead")  # 线索
        CONTACTED = "contacted", _("Contacted")  # 已接洽
        PROPOSAL = "proposal", _("Proposal")  # 方案
        NEGOTIATING = "negotiating", _("Negotiating")  # 洽谈
        WON = "won", _("Won")  # 签约
        LOST = "lost", _("Lost")  # 流失

    class Status(models.TextChoices):
        HELD = "held", _("Registered")  # 备案有效
        EXPIRED = "expired", _("Expired (free)")  # 过期释放
        CONVERTED = "converted", _("Converted to customer")  # 已转为客户

    number = models.CharField(_("registration number"), max_length=20, unique=True)
    name = models.CharField(_("company name"), max_length=120)
    normalised_name = models.CharField(_("normalised name"), max_length=120, db_index=True, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    normalised_address = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    industry = models.CharField(_("industry"), max_length=16, choices=Industry.choices)
    region = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    expected_capacity_kva = models.DecimalField(_("expected capacity (kVA)"), max_digits=12, decimal_places=2)
    expected_annual_kwh = models.DecimalField(
        _("expected annual consumption (kWh)"), max_digits=16, decimal_places=2
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.LEAD)
    lost_reason = models.CharField(_("reason lost"), max_length=200, blank=True)
    next_action = models.CharField(_("next action"), max_length=200, blank=True)
    next_action_on = models.DateField(_("next action on"), null=True, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prospects", verbose_name=_("owner")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("owning unit")
    )
    status = models.CharField(
        _("registration status"), max_length=12, choices=Status.choices, default=Status.HELD
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )

    scope_unit_path = "unit__path"
    scope_owner = "owner"
    display_units: ClassVar[dict[str, str]] = {"expected_capacity_kva": "kVA", "expected_annual_kwh": "kWh"}

    class Meta:
        ordering = ["-registered_at", "-pk"]
        verbose_name = _("prospect")
        verbose_name_plural = _("prospects")
        constraints = [
            # one live registration per company, whoever holds it: the last line against two at once
            models.UniqueConstraint(
                fields=["normalised_name"], condition=Q(status="held"), name="keyaccounts_prospect_name_held"
            ),
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=Q(status="held") & ~Q(credit_code=""),
                name="keyaccounts_prospect_code_held",
            ),
        ]
        indexes = [models.Index(fields=["status", "last_activity_at"], name="keyaccounts_prospect_idle")]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("keyaccounts:prospect-detail", args=[self.pk])


class Collision(models.Model):
    """撞单记录 — a registration refused because someone already holds the company (or it is a customer); the
    managers see who holds it and decide (keep it with the holder, or hand it to the claimant)."""

    class Reason(models.TextChoices):
        CREDIT_CODE = "credit_code", _("Same credit code")
        NAME = "name", _("Same name")
        SIMILAR_NAME = "similar_name", _("Very similar name")
        ADDRESS = "address", _("Same address")
        CUSTOMER = "customer", _("Already a customer")

    class Decision(models.TextChoices):
        OPEN = "open", pgettext_lazy("collision", "Undecided")
        KEPT = "kept", _("Kept with the holder")
        TRANSFERRED = "transferred", _("Handed to the claimant")

    claimant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("claimant")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    name = models.CharField(_("company name"), max_length=120)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    score = models.DecimalField(_("similarity"), max_digits=5, decimal_places=1, null=True, blank=True)
    prospect = models.ForeignKey(
        Prospect,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="collisions",
        verbose_name=_("held prospect"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )
    decision = models.CharField(_("decision"), max_length=12, choices=Decision.choices, default=Decision.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    scope_unit_path = ("unit__path", "prospect__unit__path")

    class Meta:
        ordering = ["-attempted_at", "-pk"]
        verbose_name = _("registration collision")
        verbose_name_plural = _("registration collisions")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_reason_display()})"

    def get_absolute_url(self) -> str:
        return reverse("keyaccounts:collision-decide", args=[self.pk])


class CreditRuleSet(Immutable):
    """信用评价规则 — one version of the credit-score rules as data (features, thresholds, points, weights and the
    grade minimums; :mod:`gridcare.engine.credit`). The latest version scores; every score keeps the version it
    was computed with, so its reasons read the rules that applied. A version is never changed nor deleted (a
    change is a new version): the model refuses it and so does the database (triggers, migration 0003)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    rules = models.JSONField(_("rules"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_public = True  # the rules are data every signed-in user may read
    immutable_message = RULES_IMMUTABLE

    class Meta:
        ordering = ["-version"]
        verbose_name = _("credit-score rules")
        verbose_name_plural = _("credit-score rules")

    def __str__(self) -> str:
        return f"v{self.version}"


class CreditScore(models.Model):
    """信用评价 — an account's computed credit score of a month (0–100), its grade and what took points off (the
    features and each rule's points). Immutable: one per account and month; a manual change is a
    :class:`CreditAdjustment`."""

    # looked up by the (account, month) unique index: no index of its own
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        related_name="credit_scores",
        verbose_name=_("account"),
        db_index=False,
    )
    month = models.CharField(_("month"), max_length=7)
    score = models.PositiveSmallIntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=1)
    features = NumberListField(_("figures"), default=list)
    deductions = NumberListField(_("points taken off"), default=list)
    # No database constraint: a million rows of a run name the one version read in the run's transaction, and a
    # version is never deleted (CreditRuleSet's triggers) — PostgreSQL checking it row by row was 4 s of 40.
    rule_set = models.ForeignKey(
        CreditRuleSet,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("rules version"),
        db_constraint=False,
        db_index=False,
    )
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"
    display_units: ClassVar[dict[str, str]] = {"score": "分"}

    class Meta:
        ordering = ["-month", "account_id"]
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="keyaccounts_credit_once_a_month")
        ]
        indexes = [models.Index(fields=["month", "grade"], name="keyaccounts_credit_month_grade")]

    def __str__(self) -> str:
        return f"{self.month} {self.score} {self.grade}"


class CreditAdjustment(models.Model):
    """信用分调整 — a manual change of a month's credit score, with its reason: within the requester's authority
    limit (``credit_score_change``, points away from the computed score) it applies at once; above it, it waits
    for a position whose limit covers it. History: every adjustment stays."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("In force")
        REJECTED = "rejected", _("Rejected")

    score = models.ForeignKey(
        CreditScore, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("credit score")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    score_before = models.PositiveSmallIntegerField(_("score before"))
    score_after = models.PositiveSmallIntegerField(_("score after"))
    grade_after = models.CharField(_("grade after"), max_length=1)
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    approvers = models.CharField(_("who may approve"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    scope_customer_data = True
    scope_unit_path = "account__org_unit__path"
    scope_owner = "account__account_manager"

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("credit-score adjustment")
        verbose_name_plural = _("credit-score adjustments")
        indexes = [models.Index(fields=["account", "status"], name="keyaccounts_credit_adj_account")]

    def __str__(self) -> str:
        return f"{self.score.month} {self.score_before}→{self.score_after}"

    def get_absolute_url(self) -> str:
        return reverse("keyaccounts:credit-decide", args=[self.pk])


class ExpenseCategory(models.TextChoices):
    # codes prefixed so that none reads as an ordinary word on a screen
    PROMOTION = "expense_promotion", _("Promotion & advertising")  # 宣传推广
    VISITS = "expense_visits", _("Customer visits & travel")  # 客户走访
    EVENTS = "expense_events", _("Meetings & events")  # 会议活动
    RESEARCH = "expense_research", _("Market research")  # 市场调研
    HOSPITALITY = "expense_hospitality", _("Hospitality")  # 业务招待
    OTHER = "expense_other", _("Other expenses")  # 其他


class SalesBudget(models.Model):
    """销售费用预算 — a year's sales expense budget of one region (org unit) and one owner (责任人)."""

    year = models.PositiveSmallIntegerField(_("year"))
    region = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    amount = models.DecimalField(_("budget"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("set by")
    )
    created_at = models.DateTimeField(_("set at"), default=timezone.now)

    # a budget line belongs to its owner's unit (the market manager sees the lines of their team); the region is
    # what it is spent on, any unit of the org chart
    scope_unit_path = "owner__org_unit__path"
    scope_owner = "owner"
    display_units: ClassVar[dict[str, str]] = {"amount": "元"}

    class Meta:
        ordering = ["-year", "region__path", "owner__username"]
        verbose_name = _("sales expense budget")
        verbose_name_plural = _("sales expense budgets")
        constraints = [
            models.UniqueConstraint(fields=["year", "region", "owner"], name="keyaccounts_budget_once"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="keyaccounts_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.region} {self.owner}"


class SalesExpense(models.Model):
    """销售费用 — an expense recorded against a budget line. Over the line's remaining budget it is refused unless
    approved within authority (``budget_amount``): such an expense waits (pending) and counts once approved."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        PENDING = "pending", _("Over budget: waiting for approval")
        REJECTED = "rejected", _("Rejected")

    budget = models.ForeignKey(
        SalesBudget, on_delete=models.PROTECT, related_name="expenses", verbose_name=_("budget")
    )
    day = models.DateField(_("date"))
    category = models.CharField(_("category"), max_length=20, choices=ExpenseCategory.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    description = models.CharField(_("description"), max_length=200)
    prospect = models.ForeignKey(
        Prospect,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("prospect"),
    )
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECORDED)
    overrun = models.DecimalField(_("over budget by"), max_digits=14, decimal_places=2, default=0)
    approvers = models.CharField(_("who may approve"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    scope_unit_path = "budget__owner__org_unit__path"
    scope_owner = "budget__owner"
    display_units: ClassVar[dict[str, str]] = {"amount": "元", "overrun": "元"}

    class Meta:
        ordering = ["-day", "-pk"]
        verbose_name = _("sales expense")
        verbose_name_plural = _("sales expenses")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="keyaccounts_expense_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_category_display()} {self.amount} 元"

    def get_absolute_url(self) -> str:
        return reverse("keyaccounts:expense-decide", args=[self.pk])
