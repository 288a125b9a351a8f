"""Organisation: units (机构), positions (岗位) with their permissions, limits and KPIs, and staff."""

from __future__ import annotations

from typing import ClassVar, Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import SCOPE_COMPANY, SCOPE_OWN, SCOPE_SUBTREE, SCOPE_UNIT


class OrgUnit(models.Model):
    """A node of the organisation tree: company → department → centre / branch / station → team.

    ``path`` is the chain of unit codes from the root (``/GC/YX/KF/``) so "own unit and below" is one
    indexed prefix match.
    """

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        DEPARTMENT = "department", _("Department")
        CENTRE = "centre", _("Centre")
        BRANCH = "branch", _("County branch")
        STATION = "station", _("Service station")
        TEAM = "team", _("Team")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=500, unique=True, editable=False)
    head = models.ForeignKey(
        "org.User",
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_units",
    )
    is_active = models.BooleanField(_("active"), default=True)

    scope_unit_path = "path"
    scope_owner = None

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("org:unit-detail", args=[self.pk])

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class PermissionCode(models.Model):
    """A permission that positions grant (e.g. ``billing.release``)."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    area = models.CharField(_("business area"), max_length=32)

    scope_public = True  # the catalogue: every signed-in user may read it (choice lists resolve through it)

    class Meta:
        verbose_name = _("permission")
        verbose_name_plural = _("permissions")
        ordering = ["area", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class LimitType(models.Model):
    """A kind of authority limit (权限额度), e.g. maximum bill adjustment in 元."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    unit = models.CharField(_("unit"), max_length=16)

    scope_public = True  # the catalogue: every signed-in user may read it (choice lists resolve through it)

    class Meta:
        verbose_name = _("limit type")
        verbose_name_plural = _("limit types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """A position (岗位) from the job descriptions: what it does, may do and is measured by."""

    class Level(models.TextChoices):
        MANAGEMENT = "management", _("Management")
        MIDDLE = "middle", _("Middle management")
        EXECUTION = "execution", _("Execution")
        EXTERNAL = "external", _("External")

    class DataScope(models.TextChoices):
        COMPANY = SCOPE_COMPANY, _("Whole company")
        SUBTREE = SCOPE_SUBTREE, _("Own unit and below")
        UNIT = SCOPE_UNIT, _("Own unit")
        OWN = SCOPE_OWN, _("Own records only")

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    superior = models.ForeignKey(
        "self",
        verbose_name=_("superior position"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subordinates",
    )
    data_scope = models.CharField(_("data scope"), max_length=16, choices=DataScope.choices)
    #: How far the position may *read* customer data (models declaring ``scope_customer_data``): blank means as
    #: far as ``data_scope``, which always bounds writes. The hotline reads every customer of the company but
    #: changes only what its own unit holds.
    read_scope = models.CharField(
        _("Read scope for customer data"),
        max_length=16,
        choices=DataScope.choices,
        blank=True,
        default="",
        help_text=_(
            "How far the position reads customer data; its changes always stay within the data scope."
        ),
    )
    responsibilities = models.JSONField(_("responsibilities"), default=list, blank=True)
    authorities = models.JSONField(_("authorities"), default=list, blank=True)
    source = models.CharField(_("source document"), max_length=100, blank=True)
    #: Raised whenever the position's permissions change: server processes cache the codes by (position, version),
    #: so a change is seen on the next request everywhere, with no extra query on the hot path.
    permissions_version = models.PositiveIntegerField(_("permissions version"), default=0, editable=False)
    permissions = models.ManyToManyField(PermissionCode, verbose_name=_("permissions"), blank=True)

    scope_public = True

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("org:position-detail", args=[self.pk])

    def bump_permissions_version(self) -> None:
        """Call after changing ``permissions``: cached permission codes of this position become stale."""
        Position.objects.filter(pk=self.pk).update(permissions_version=models.F("permissions_version") + 1)
        self.refresh_from_db(fields=["permissions_version"])


class AuthorityLimit(models.Model):
    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="limits")
    limit_type = models.ForeignKey(LimitType, on_delete=models.PROTECT, related_name="limits")
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)

    display_units = {"amount": lambda limit: limit.limit_type.unit}  # gridcare.web.display: "5,000.00 元"

    class Meta:
        verbose_name = _("authority limit")
        verbose_name_plural = _("authority limits")
        constraints = [
            models.UniqueConstraint(fields=["position", "limit_type"], name="uniq_limit_per_position"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="limit_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.position} {self.limit_type} {self.amount}"


class KPIDefinition(models.Model):
    """A KPI (考核指标) of a position; later capabilities compute it from gridcare's own data."""

    class Direction(models.TextChoices):
        HIGHER = "higher", _("Higher is better")
        LOWER = "lower", _("Lower is better")

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="kpis")
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    definition = models.TextField(_("definition"), blank=True)

    class Meta:
        verbose_name = _("KPI definition")
        verbose_name_plural = _("KPI definitions")
        ordering = ["position", "code"]
        constraints = [models.UniqueConstraint(fields=["position", "code"], name="uniq_kpi_per_position")]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in: staff with a position in a unit, or (later) a customer of the portal."""

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    employee_no = models.CharField(_("employee number"), max_length=32, unique=True, null=True, blank=True)
    phone = models.CharField(_("mobile"), max_length=20, blank=True)
    position = models.ForeignKey(
        Position,
        verbose_name=_("position"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    left_on = models.DateField(_("left on"), null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects: ClassVar[UserManager[Self]] = UserManager()

    scope_unit_path = "org_unit__path"
    scope_owner = "pk"

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("org:staff-detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username


class PositionChangeRequest(models.Model):
    """A change to an administrator position's permissions, data scope or limits awaiting a second
    administrator (four-eyes, 双人复核): stored on proposal, applied only on approval by someone else."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class Kind(models.TextChoices):
        POSITION = "position", _("Permissions, data scope, superior")
        LIMIT = "limit", _("Authority limit")

    position = models.ForeignKey(
        Position, verbose_name=_("position"), on_delete=models.CASCADE, related_name="change_requests"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    #: the arguments of the change: ``data_scope``, ``permissions``, ``superior_id`` or ``limit``, ``amount``
    changes = models.JSONField(_("changes"), default=dict)
    #: the position as it was when the change was proposed (for the approver to compare)
    before = models.JSONField(_("before"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        User, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    scope_public = True

    class Meta:
        verbose_name = _("position change request")
        verbose_name_plural = _("position change requests")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="approved") | ~models.Q(decided_by=models.F("proposed_by")),
                name="change_request_four_eyes",
            )
        ]

    def __str__(self) -> str:
        return f"{self.position} · {self.get_kind_display()} · {self.get_status_display()}"
