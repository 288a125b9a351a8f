"""SLA policies and dispatch rules (派单规则) as read by the hot paths: loaded once per process into plain tuples,
kept for ``RULE_CACHE_SECONDS`` and dropped at once when an action edits them, so intake needs no query for them."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gridcare.service.conf import conf


@dataclass(frozen=True)
class PolicyRow:
    id: int
    order_type: str
    sub_type: str
    area_class: str
    milestone: str
    clock: str
    amount: int
    warn_permille: int
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class RuleRow:
    id: int
    priority: int
    order_type: str
    sub_type: str
    station_id: int | None
    area_class: str
    key_account: bool | None
    has_station: bool | None
    target: str
    target_unit_id: int | None
    target_user_id: int | None
    target_user_unit_id: int | None


@dataclass(frozen=True)
class Route:
    """Where dispatch sends an order: a unit's queue and/or a person, and the rule that decided it."""

    queue_unit_id: int | None
    assignee_id: int | None
    rule_id: int


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[float, list[PolicyRow], list[RuleRow]] | None = None

    def get(self) -> tuple[list[PolicyRow], list[RuleRow]]:
        with self._lock:
            now = time.monotonic()
            if self._loaded is None or now - self._loaded[0] > float(conf("RULE_CACHE_SECONDS")):
                self._loaded = (now, _load_policies(), _load_rules())
            return self._loaded[1], self._loaded[2]

    def forget(self) -> None:
        with self._lock:
            self._loaded = None


_cache = _Cache()


def forget_rules() -> None:
    """Drop the cached policies and rules (called by the actions that change them)."""
    _cache.forget()


def _load_policies() -> list[PolicyRow]:
    from gridcare.service.models import SLAPolicy

    return [
        PolicyRow(
            p.id,
            p.order_type,
            p.sub_type,
            p.area_class,
            p.milestone,
            p.clock,
            p.amount,
            int(p.warn_ratio * 1000),
            p.valid_from,
            p.valid_to,
        )
        for p in SLAPolicy.objects.all()
    ]


def _load_rules() -> list[RuleRow]:
    from gridcare.service.models import DispatchRule

    return [
        RuleRow(
            r.id,
            r.priority,
            r.order_type,
            r.sub_type,
            r.station_id,
            r.area_class,
            r.key_account,
            r.has_station,
            r.target,
            r.target_unit_id,
            r.target_user_id,
            r.target_user.org_unit_id if r.target_user is not None else None,
        )
        for r in DispatchRule.objects.filter(is_active=True)
        .select_related("target_user")
        .order_by("priority", "id")
    ]


def policies_for(order_type: str, sub_type: str, area_class: str, on: dt.date) -> dict[str, PolicyRow]:
    """The policy of each milestone for an order: the most specific valid row (sub-type, then area class)."""
    policies, _rules = _cache.get()
    best: dict[str, tuple[int, PolicyRow]] = {}
    for p in policies:
        if p.order_type != order_type or p.valid_from > on or (p.valid_to is not None and p.valid_to <= on):
            continue
        if p.sub_type not in ("", sub_type) or p.area_class not in ("", area_class):
            continue
        rank = (2 if p.sub_type else 0) + (1 if p.area_class else 0)
        current = best.get(p.milestone)
        if (
            current is None
            or rank > current[0]
            or (rank == current[0] and p.valid_from > current[1].valid_from)
        ):
            best[p.milestone] = (rank, p)
    return {milestone: row for milestone, (_rank, row) in best.items()}


def route(
    *,
    order_type: str,
    sub_type: str,
    station_id: int | None,
    area_class: str,
    key_account: bool,
    account_manager_id: int | None,
    account_manager_unit_id: int | None,
) -> Route | None:
    """Apply the dispatch rules in priority order; ``None`` when the order stays with the desk."""
    _policies, rules = _cache.get()
    for r in rules:
        if r.order_type and r.order_type != order_type:
            continue
        if r.sub_type and r.sub_type != sub_type:
            continue
        if r.station_id is not None and r.station_id != station_id:
            continue
        if r.area_class and r.area_class != area_class:
            continue
        if r.key_account is not None and r.key_account != key_account:
            continue
        if r.has_station is not None and r.has_station != (station_id is not None):
            continue
        if r.target == "none":
            return None
        if r.target == "unit" and r.target_unit_id:
            return Route(r.target_unit_id, None, r.id)
        if r.target == "person" and r.target_user_id:
            return Route(r.target_user_unit_id or r.target_unit_id, r.target_user_id, r.id)
        if r.target == "station" and station_id is not None:
            return Route(station_id, None, r.id)
        if r.target == "account_manager" and account_manager_id is not None:
            return Route(account_manager_unit_id, account_manager_id, r.id)
    return None


def supervisors(unit_ids: Iterable[int] | None = None) -> dict[int, list[int]]:
    """For each unit, the active heads of it and of the units above it, nearest first (the escalation chain)."""
    from gridcare.org.models import OrgUnit

    units: dict[int, Any] = {
        u["id"]: u
        for u in OrgUnit.objects.values("id", "parent_id", "head_id", "head__is_active", "head__left_on")
    }
    chains: dict[int, list[int]] = {}
    for unit_id in unit_ids if unit_ids is not None else units:
        chain: list[int] = []
        current = units.get(unit_id)
        while current is not None:
            head = current["head_id"]
            if head and current["head__is_active"] and current["head__left_on"] is None and head not in chain:
                chain.append(head)
            current = units.get(current["parent_id"])
        chains[unit_id] = chain
    return chains


def supervisor_for(unit_id: int | None, exclude: Iterable[int | None] = ()) -> int | None:
    """The nearest head above (or of) ``unit_id`` who is not in ``exclude`` (e.g. the assignee themself)."""
    if unit_id is None:
        return None
    skip = {e for e in exclude if e is not None}
    for head in supervisors([unit_id]).get(unit_id, []):
        if head not in skip:
            return head
    return None
