"""SLA clocks of work orders on the database side: create, pause, resume and finish clocks of one order, and
the set-based sweep that sends warnings (临期预警) and escalations (超时升级) for all open clocks.

Every computation goes through :mod:`gridcare.engine.sla` — one order is an array of length one.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from gridcare.core.calendar import get_calendar
from gridcare.core.rows import TableRef
from gridcare.engine import sla as engine
from gridcare.service.choices import MILESTONE_START, PAUSED_STATUSES, ClockKind
from gridcare.service.conf import working_hours
from gridcare.service.models import ServiceNotice, SLAClock, WorkOrder
from gridcare.service.rules import PolicyRow, policies_for, supervisors

KIND_CODE: dict[str, int] = {ClockKind.ELAPSED: engine.ELAPSED, ClockKind.WORKING: engine.WORKING}
_CHUNK = 5000


def _dt(seconds: int | np.integer) -> dt.datetime:
    return engine.from_epoch_seconds(int(seconds))


def _secs(moment: dt.datetime) -> int:
    return engine.epoch_seconds(moment)


def compute(clocks: Sequence[SLAClock], now: dt.datetime | None = None) -> None:
    """Set ``deadline`` and ``warn_at`` of clocks from their start, rule and pauses (a running pause counts up to
    ``now``)."""
    if not clocks:
        return
    at = _secs(now or timezone.now())
    start = np.array([_secs(c.start_at) for c in clocks])
    kind = np.array([KIND_CODE[c.clock] for c in clocks])
    amount = np.array([c.amount for c in clocks])
    ratio = np.array([c.warn_permille for c in clocks])
    paused = np.array(
        [c.paused_seconds + (at - _secs(c.paused_since) if c.paused_since else 0) for c in clocks]
    )
    calendar = get_calendar()
    deadlines = engine.deadlines(calendar, start, kind, amount, paused)
    warns = engine.warning_times(calendar, start, kind, amount, ratio, paused)
    for clock, deadline, warn in zip(clocks, deadlines, warns, strict=True):
        clock.deadline = _dt(deadline)
        clock.warn_at = _dt(warn)


def new_clocks(
    order: WorkOrder, policies: dict[str, PolicyRow], start_event: str, start_at: dt.datetime
) -> list[SLAClock]:
    """Unsaved clocks of the order's milestones that start with ``start_event`` (intake, arrival, returned)."""
    clocks = [
        SLAClock(
            order=order,
            milestone=milestone,
            clock=policy.clock,
            amount=policy.amount,
            warn_permille=policy.warn_permille,
            start_at=start_at,
        )
        for milestone, policy in sorted(policies.items())
        if MILESTONE_START[milestone] == start_event
    ]
    compute(clocks, start_at)
    return clocks


def order_policies(order: WorkOrder) -> dict[str, PolicyRow]:
    return policies_for(
        order.order_type, order.sub_type, order.area_class, timezone.localdate(order.created_at)
    )


def summarise(order: WorkOrder, open_clocks: Iterable[SLAClock], now: dt.datetime) -> None:
    """Cache the nearest deadline, warning moment and SLA state of the order's open clocks on the order."""
    clocks = list(open_clocks)
    if not clocks:
        order.due_at = None
        order.warn_at = None
        if order.sla_state != "breached":
            order.sla_state = ""
        return
    order.due_at = min(c.deadline for c in clocks)
    order.warn_at = min(c.warn_at for c in clocks)
    if any(c.escalated_at or c.deadline <= now for c in clocks):
        order.sla_state = "breached"
    elif any(c.warn_at <= now for c in clocks):
        order.sla_state = "warning"
    elif order.sla_state != "breached":
        order.sla_state = "ok"


def open_clocks(order: WorkOrder) -> list[SLAClock]:
    return list(SLAClock.objects.filter(order=order, done_at__isnull=True).order_by("id"))


def finish(clocks: Iterable[SLAClock], milestones: Iterable[str] | None, at: dt.datetime) -> list[SLAClock]:
    """Stop the clocks of ``milestones`` (all when ``None``) at ``at``: met or breached. Returns them (saved)."""
    wanted = None if milestones is None else set(milestones)
    done = [c for c in clocks if c.done_at is None and (wanted is None or c.milestone in wanted)]
    compute(done, at)
    for clock in done:
        if clock.paused_since:
            clock.paused_seconds += _secs(at) - _secs(clock.paused_since)
            clock.paused_since = None
        clock.done_at = at
        clock.breached = at >= clock.deadline
    if done:
        SLAClock.objects.bulk_update(
            done, ["done_at", "breached", "deadline", "warn_at", "paused_seconds", "paused_since"]
        )
    return done


def pause(clocks: Iterable[SLAClock], at: dt.datetime) -> None:
    running = [c for c in clocks if c.done_at is None and c.paused_since is None]
    for clock in running:
        clock.paused_since = at
    if running:
        SLAClock.objects.bulk_update(running, ["paused_since"])


def resume(clocks: Iterable[SLAClock], at: dt.datetime) -> None:
    """End a pause: the paused time is added to each clock, which moves its deadline and warning."""
    paused = [c for c in clocks if c.done_at is None and c.paused_since is not None]
    for clock in paused:
        assert clock.paused_since is not None
        clock.paused_seconds += _secs(at) - _secs(clock.paused_since)
        clock.paused_since = None
    compute(paused, at)
    if paused:
        SLAClock.objects.bulk_update(paused, ["paused_seconds", "paused_since", "deadline", "warn_at"])


# ---------------------------------------------------------------------------------------------------- sweep


@dataclass
class SweepResult:
    clocks: int = 0
    warnings: int = 0
    escalations: int = 0
    refreshed: int = 0
    held_back: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    # one audit row each: order id, number, before and after (escalation level, SLA state)
    escalated_orders: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "clocks": self.clocks,
            "warnings": self.warnings,
            "escalations": self.escalations,
            "refreshed": self.refreshed,
            "held_back": self.held_back,
        }


_COLUMNS = (
    "id",
    "order_id",
    "kind",
    "amount",
    "ratio",
    "start",
    "paused",
    "paused_since",
    "deadline",
    "warn_at",
    "warned",
    "escalated",
)


def _epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"COALESCE(date_part('epoch', {column})::bigint, -1)"  # float8: far cheaper than EXTRACT's numeric
    return f"COALESCE(CAST(strftime('%s', {column}) AS INTEGER), -1)"


def _load_sql() -> str:
    return (
        "SELECT c.id, c.order_id, CASE WHEN c.clock = 'working' THEN 1 ELSE 0 END, c.amount, c.warn_permille, "
        f"{_epoch_sql('c.start_at')}, c.paused_seconds, {_epoch_sql('c.paused_since')}, "
        f"{_epoch_sql('c.deadline')}, {_epoch_sql('c.warn_at')}, "
        "CASE WHEN c.warned_at IS NULL THEN 0 ELSE 1 END, CASE WHEN c.escalated_at IS NULL THEN 0 ELSE 1 END "
        f"FROM {SLAClock._meta.db_table} c WHERE c.done_at IS NULL"
    )


def load_open_clocks() -> dict[str, np.ndarray]:
    """All open clocks as int64 columns: PostgreSQL streams them with COPY (CSV parsed by Polars)."""
    sql = _load_sql()
    if connection.vendor == "postgresql":
        import polars as pl

        buffer = io.BytesIO()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy,
        ):
            for block in copy:
                buffer.write(block)
        if buffer.tell() == 0:
            return {name: np.empty(0, dtype=np.int64) for name in _COLUMNS}
        buffer.seek(0)
        frame = pl.read_csv(
            buffer,
            has_header=False,
            new_columns=list(_COLUMNS),
            schema_overrides=dict.fromkeys(_COLUMNS, pl.Int64),
        )
        return {name: frame[name].to_numpy() for name in _COLUMNS}
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    data = np.array(rows, dtype=np.int64).reshape(-1, len(_COLUMNS))
    return {name: data[:, i].copy() for i, name in enumerate(_COLUMNS)}


def _chunks(ids: np.ndarray) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK].tolist()


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Evaluate every open clock at ``now`` and write, in bulk: refreshed deadlines, warnings to the assignee
    (or the queue's supervisor), escalations to the supervisor, and the orders' SLA state and escalation level."""
    import time

    marks = [time.perf_counter()]
    now = now or timezone.now()
    at = _secs(now)
    data = load_open_clocks()
    marks.append(time.perf_counter())
    result = SweepResult(clocks=len(data["id"]))
    if result.clocks == 0:
        return result
    calendar = get_calendar()
    hours = working_hours()
    evaluation = engine.evaluate(
        calendar,
        at,
        data["start"],
        data["kind"],
        data["amount"],
        data["ratio"],
        data["paused"],
        data["paused_since"],
        data["warned"] == 1,
        data["escalated"] == 1,
        hours,
    )
    result.held_back = not engine.is_working_moment(calendar, at, hours)
    marks.append(time.perf_counter())

    # deadlines that moved (calendar override changed, policy data fixed): refresh running clocks and orders
    running = data["paused_since"] < 0
    moved = running & ((evaluation.deadline != data["deadline"]) | (evaluation.warn_at != data["warn_at"]))
    if moved.any():
        changed = [
            SLAClock(id=int(i), deadline=_dt(d), warn_at=_dt(w))
            for i, d, w in zip(
                data["id"][moved], evaluation.deadline[moved], evaluation.warn_at[moved], strict=True
            )
        ]
        SLAClock.objects.bulk_update(changed, ["deadline", "warn_at"], batch_size=1000)
        result.refreshed = len(changed)
        _refresh_orders(np.unique(data["order_id"][moved]))

    warn_idx = np.flatnonzero(evaluation.send_warning)
    esc_idx = np.flatnonzero(evaluation.send_escalation)
    # who receives them: the assignee (warnings) or the head above the handling unit (escalations)
    targets: dict[int, tuple[int | None, int]] = {}
    for ids in _chunks(np.unique(data["order_id"][np.concatenate([warn_idx, esc_idx])])):
        for pk, assignee_id, queue_unit, unit in WorkOrder.objects.filter(id__in=ids).values_list(
            "id", "assignee_id", "queue_unit_id", "unit_id"
        ):
            targets[pk] = (assignee_id, queue_unit or unit)
    chains = supervisors() if targets else {}

    def head(unit_id: int, exclude: int | None) -> int | None:
        return next((h for h in chains.get(unit_id, []) if h != exclude), None)

    marks.append(time.perf_counter())
    write_marks = [time.perf_counter()]
    with transaction.atomic():  # claims, notices and levels together (a sweep may run outside an action)
        # Claim first: a clock's warning (escalation) is sent by the run that sets its ``warned_at``
        # (``escalated_at``) from empty — a conditional update, so a second sweep at the same time (or a retry)
        # claims nothing twice; the unique (clock, kind) constraint on notices backs it up.
        # (the "near breach" state needs no write: lists compare warn_at/due_at with now)
        warned = _claim("warned_at", data["id"][warn_idx], now)
        escalated = _claim("escalated_at", data["id"][esc_idx], now)
        notices: list[ServiceNotice] = []
        for kind, indexes, claimed in (
            (ServiceNotice.Kind.WARNING, warn_idx, warned),
            (ServiceNotice.Kind.ESCALATION, esc_idx, escalated),
        ):
            for i in indexes:
                clock_id = int(data["id"][i])
                if clock_id not in claimed:
                    continue
                order_id = int(data["order_id"][i])
                assignee, unit_id = targets[order_id]
                if kind == ServiceNotice.Kind.WARNING:
                    recipient = assignee if assignee is not None else head(unit_id, None)
                    text = "SLA 80%"
                else:
                    recipient, text = head(unit_id, assignee), "SLA breached"
                notices.append(
                    ServiceNotice(
                        order_id=order_id,
                        clock_id=clock_id,
                        kind=kind,
                        recipient_id=recipient,
                        sent_at=now,
                        text=text,
                    )
                )
        result.escalated_orders = _escalate_orders(sorted(set(escalated.values())))
        write_marks.append(time.perf_counter())
        ServiceNotice.objects.bulk_create(notices, batch_size=5000, ignore_conflicts=True)
    marks.append(time.perf_counter())
    result.warnings, result.escalations = len(warned), len(escalated)
    result.timings = {
        name: round(marks[i + 1] - marks[i], 3)
        for i, name in enumerate(("load", "compute", "prepare", "write"))
    }
    result.timings["write_notices"] = round(marks[-1] - write_marks[-1], 3)
    return result


def _claim(column: str, ids: np.ndarray, now: dt.datetime) -> dict[int, int]:
    """Stamp ``column`` with ``now`` on the open clocks among ``ids`` where it is still empty; returns the
    clocks this run stamped (clock id → order id). A concurrent run's stamp, committed or not, excludes a
    clock: PostgreSQL re-checks the condition after waiting for the other run's row lock."""
    if not len(ids):
        return {}
    c = TableRef(SLAClock)
    target = getattr(c, column)
    value = SLAClock._meta.get_field(column).get_db_prep_value(now, connection)  # type: ignore[union-attr]
    claimed: dict[int, int] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(np.sort(ids)):
            cursor.execute(
                f"UPDATE {c} SET {target} = %s WHERE {target} IS NULL AND {c.done_at} IS NULL "
                f"AND {c.id} IN ({', '.join(['%s'] * len(chunk))}) RETURNING {c.id}, {c.order}",
                [value, *chunk],
            )
            claimed.update((int(pk), int(order)) for pk, order in cursor.fetchall())
    return claimed


def _escalate_orders(order_ids: list[int]) -> list[dict[str, object]]:
    """Raise the escalation level of the orders one step — in the database, on the row as it is now
    (``escalation_level + 1`` re-reads it under the row lock the UPDATE takes, so an escalation by hand in
    between is not lost) — and return what the audit needs of each (one row per order)."""
    o = TableRef(WorkOrder)
    level = o.escalation_level
    rows: list[dict[str, object]] = []
    with connection.cursor() as cursor:
        for ids in _chunks(np.array(order_ids, dtype=np.int64)):
            cursor.execute(
                f"UPDATE {o} SET {level} = {level} + 1, {o.sla_state} = 'breached' "
                f"WHERE {o.id} IN ({', '.join(['%s'] * len(ids))}) RETURNING {o.id}, {o.number}, {level}",
                ids,
            )
            for order_id, order_number, new_level in cursor.fetchall():
                rows.append(
                    {
                        "object_type": WorkOrder._meta.label_lower,
                        "object_id": order_id,
                        "object_repr": str(order_number),
                        "before": {"escalation_level": new_level - 1},
                        "after": {"escalation_level": new_level, "sla_state": "breached"},
                        "note": "SLA breached (超时自动升级)",
                    }
                )
    return rows


def _refresh_orders(order_ids: np.ndarray) -> None:
    """Recompute the cached nearest deadline / warning of orders from their open clocks."""
    for ids in _chunks(order_ids):
        rows = (
            SLAClock.objects.filter(order_id__in=ids, done_at__isnull=True)
            .values("order_id")
            .annotate(due=Min("deadline"), warn=Min("warn_at"))
        )
        updates = [WorkOrder(id=r["order_id"], due_at=r["due"], warn_at=r["warn"]) for r in rows]
        WorkOrder.objects.bulk_update(updates, ["due_at", "warn_at"], batch_size=1000)


def near_breach_q(now: dt.datetime) -> Q:
    """Open, running orders past their warning moment but not yet overdue (临近超时)."""
    return Q(warn_at__lte=now, due_at__gt=now) & ~Q(status__in=PAUSED_STATUSES)


def overdue_q(now: dt.datetime) -> Q:
    """Open, running orders past a deadline (已超时)."""
    return Q(due_at__lte=now) & ~Q(status__in=PAUSED_STATUSES)
