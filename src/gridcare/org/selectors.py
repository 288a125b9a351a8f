"""Reads of the organisation app that need care."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db.models import Count, Q, QuerySet

from gridcare.core.access import permission_codes, restrict
from gridcare.org.models import OrgUnit, PermissionCode, Position, User

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "catalogue.yaml"
SYSTEM_USERNAME = "system"

#: What makes a position an *administrator* position: it holds all of these. Administrators can repair
#: positions and staff, so there must always be one active, and a change to their position needs a second one.
ADMINISTRATOR_PERMISSIONS: frozenset[str] = frozenset({"org.manage_positions", "org.manage_staff"})


def is_administrator_codes(codes: set[str] | frozenset[str]) -> bool:
    """Whether a set of permission codes makes its holder an administrator."""
    return set(codes) >= ADMINISTRATOR_PERMISSIONS


def administrator_positions() -> QuerySet[Position]:
    """Positions holding every administrator permission."""
    return Position.objects.annotate(
        n_admin=Count("permissions", filter=Q(permissions__code__in=ADMINISTRATOR_PERMISSIONS), distinct=True)
    ).filter(n_admin=len(ADMINISTRATOR_PERMISSIONS))


def active_administrators() -> QuerySet[User]:
    """Staff who can sign in and hold an administrator position (the system actor is not one of them)."""
    return User.objects.filter(
        is_active=True, left_on__isnull=True, position__in=administrator_positions().values("pk")
    )


def read_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def system_actor() -> User:
    """The account batch jobs and commands act as: a superuser that cannot log in."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"full_name": "系统", "is_superuser": True, "is_staff": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def grantable_positions(user: Any) -> QuerySet[Position]:
    """Positions whose every permission ``user`` holds: the ones they may hand out (choices of staff forms)."""
    lacking = PermissionCode.objects.exclude(code__in=permission_codes(user))
    return Position.objects.exclude(permissions__in=lacking)


@dataclass
class UnitNode:
    """One unit of the org chart with its active staff count and the units under it."""

    unit: OrgUnit
    staff_count: int
    children: list[UnitNode] = field(default_factory=list)


def unit_tree(user: Any) -> list[UnitNode]:
    """The org chart (组织机构树) the user may see, as trees: company → department → centre / branch / station →
    team. One query; a unit whose parent is outside the scope is a root of its own."""
    units = (
        restrict(OrgUnit.objects.select_related("head"), user)
        .annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
        .order_by("path")
    )
    nodes: dict[int, UnitNode] = {}
    roots: list[UnitNode] = []
    for unit in units:
        node = UnitNode(unit, unit.staff_count)
        nodes[unit.pk] = node
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots
