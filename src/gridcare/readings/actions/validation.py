"""Consumption and VEE of new reads (抄表数据校核), one engine batch per call: where each read's consumption
starts (previous read, installation read, or both meters of an exchange), the validated history, the rules —
then quantities, statuses and exceptions, all with a few set-based queries (:mod:`gridcare.readings.bulk`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from django.utils import timezone

from gridcare.core.rows import TableRef
from gridcare.engine import vee
from gridcare.engine.money import QTY_DEC, decimal_to_scaled, scaled_to_decimal
from gridcare.metering.models import Installation, InstallationRead
from gridcare.readings import bulk
from gridcare.readings.conf import ENGINE_REGISTERS, HISTORY_MONTHS, vee_rules
from gridcare.readings.models import MeterRead, ReadException, ReadingTask, Route, RouteStop
from gridcare.readings.periods import months_between, parse_period


@dataclass(slots=True)
class NewRead:
    """A read about to be inserted: its columns, and (once assessed) its quantity and status."""

    index: int
    meter_id: int
    register: str
    read_at: dt.datetime
    value: Decimal
    source: str
    condition: str
    service_point_id: int
    period: str
    task_id: int | None
    multiplier: int
    digits: int
    supersedes_id: int | None = None
    entered_by_id: int | None = None
    quantity: Decimal | None = None
    status: str = MeterRead.Status.VALID
    pk: int | None = None
    exceptions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class NewException:
    """A failed rule of a new read (or a conflicting replay), to be inserted with the read's id."""

    read: NewRead | None
    read_id: int | None
    task_id: int | None
    service_point_id: int
    period: str
    rule: str
    severity: str
    message: str
    proposed_value: Decimal | None = None


@dataclass(slots=True)
class _Leg:
    """Where a read's consumption starts: the previous reading, and for a first read after an exchange the
    old meter's leg (old final read, its digits and multiplier) and the new meter's initial read."""

    previous: Decimal | None
    exchanged: bool = False
    old_final: Decimal | None = None
    new_initial: Decimal | None = None
    old_digits: int | None = None
    old_multiplier: int | None = None


def _scaled(value: Decimal | None) -> int | None:
    return None if value is None else decimal_to_scaled(value, QTY_DEC)


def _decimal(value: object) -> Decimal | None:
    """A numeric column as read back (Decimal on PostgreSQL; int, float or text on SQLite), to 2 decimals."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def previous_values(reads: Sequence[NewRead]) -> list[Decimal | None]:
    """The last valid read before each read of the same meter and register — one query, an index probe each."""
    r = TableRef(MeterRead, "r")
    table, params = bulk.keys(
        "k",
        [("i", "int"), ("m", "int"), ("g", "text"), ("t", "time")],
        [(n, x.meter_id, x.register, x.read_at) for n, x in enumerate(reads)],
    )
    sql = (
        f"SELECT k.i, (SELECT {r.value} FROM {r} WHERE {r.meter_id} = k.m AND {r.register} = k.g "
        f"AND {r.status} = %s AND {r.read_at} < k.t ORDER BY {r.read_at} DESC LIMIT 1) FROM {table}"
    )
    found: list[Decimal | None] = [None] * len(reads)
    for i, value in bulk.fetch(sql, [MeterRead.Status.VALID, *params]):
        found[int(i)] = _decimal(value)
    return found


def _legs(reads: Sequence[NewRead]) -> list[_Leg]:
    """The start of each read's consumption: its previous read (one query); only reads without one look at
    the installation (initial read) and an exchange (the old meter's leg)."""
    previous = previous_values(reads)
    legs: list[_Leg | None] = [None if value is None else _Leg(value) for value in previous]
    first = [read for read, leg in zip(reads, legs, strict=True) if leg is None]
    exchange = _exchange_legs(first) if first else {}
    return [leg or exchange.get(id(read), _Leg(None)) for read, leg in zip(reads, legs, strict=True)]


def _exchange_legs(reads: Sequence[NewRead]) -> dict[int, _Leg]:
    """First reads of a meter: its installation's initial read, and for an exchange the old meter's leg."""
    meter_ids = {r.meter_id for r in reads}
    installs = {
        i.meter_id: i
        for i in Installation.objects.filter(meter_id__in=meter_ids, removed_on__isnull=True).select_related(
            "meter"
        )
    }
    points = {i.service_point_id for i in installs.values()}
    replaced = {
        (i.service_point_id, i.removed_on): i
        for i in Installation.objects.filter(
            service_point_id__in=points, removed_on__isnull=False
        ).select_related("meter")
    }
    wanted = [i.pk for i in installs.values()] + [i.pk for i in replaced.values()]
    install_reads = {
        (r.installation_id, r.event, r.register): r.value
        for r in InstallationRead.objects.filter(installation_id__in=wanted)
    }
    old_reads: dict[tuple[int, str], list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for meter, register, at, value in (
        MeterRead.objects.filter(
            meter_id__in={i.meter_id for i in replaced.values()}, status=MeterRead.Status.VALID
        )
        .order_by("read_at")
        .values_list("meter_id", "register", "read_at", "value")
    ):
        old_reads[(meter, register)].append((at, value))
    legs: dict[int, _Leg] = {}
    for read in reads:
        installation = installs.get(read.meter_id)
        if installation is None:
            continue
        initial = install_reads.get((installation.pk, InstallationRead.Event.INSTALL, read.register))
        old = replaced.get((installation.service_point_id, installation.installed_on))
        old_final = (
            install_reads.get((old.pk, InstallationRead.Event.REMOVE, read.register))
            if old is not None
            else None
        )
        if old is None or old_final is None:
            legs[id(read)] = _Leg(initial)
            continue
        old_before = [v for _, v in old_reads[(old.meter_id, read.register)]]
        old_start = (
            old_before[-1]
            if old_before
            else install_reads.get((old.pk, InstallationRead.Event.INSTALL, read.register))
        )
        legs[id(read)] = _Leg(
            old_start,
            exchanged=True,
            old_final=old_final,
            new_initial=initial,
            old_digits=old.meter.register_digits,
            old_multiplier=old.multiplier,
        )
    return legs


def _routes_of(points: set[int]) -> dict[int, tuple[str, dt.date | None, int]]:
    """(mode, remote since, reading day) of the route of each service point — one query."""
    s, r = TableRef(RouteStop, "s"), TableRef(Route, "r")
    where, params = bulk.in_list(s.service_point_id, sorted(points), "int")
    rows = bulk.fetch(
        f"SELECT {s.service_point_id}, {r.mode}, {r.remote_since}, {r.reading_day} FROM {s} "
        f"JOIN {r} ON {r.id} = {s.route_id} WHERE {where}",
        params,
    )
    return {
        point: (mode, dt.date.fromisoformat(since) if isinstance(since, str) else since, day)
        for point, mode, since, day in rows
    }


def history_frame(
    points: set[int], registers: set[str] | None = None, *, since: str | None = None
) -> pl.DataFrame:
    """Validated consumption per service point, register and period (the engine's history), summed in the
    database; ``since`` (YYYY-MM) bounds the periods."""
    r = TableRef(MeterRead)
    wanted = sorted(set(ENGINE_REGISTERS) & registers if registers is not None else set(ENGINE_REGISTERS))
    where_points, point_params = bulk.in_list(r.service_point_id, sorted(points), "int")
    where_registers, register_params = bulk.in_list(r.register, wanted, "text")
    sql = (
        f"SELECT {r.service_point_id}, {r.register}, {r.period}, SUM({r.quantity}), MIN({r.multiplier}) "
        f"FROM {r} WHERE {where_points} AND {where_registers} AND {r.status} = %s "
        f"AND {r.quantity} IS NOT NULL" + (f" AND {r.period} >= %s" if since else "") + " "
        f"GROUP BY {r.service_point_id}, {r.register}, {r.period}"
    )
    params = [*point_params, *register_params, MeterRead.Status.VALID, *([since] if since else [])]
    rows = bulk.fetch(sql, params) if points and wanted else []
    return pl.DataFrame(
        {
            "account": [row[0] for row in rows],
            "register": [ENGINE_REGISTERS[row[1]] for row in rows],
            "period": [parse_period(row[2]) for row in rows],
            "quantity": [decimal_to_scaled(Decimal(str(row[3])), QTY_DEC) for row in rows],
            "multiplier": [row[4] for row in rows],
        },
        schema=vee.HISTORY_COLUMNS,
    )


def _since(periods: Iterable[str]) -> str:
    first = parse_period(min(periods))
    month = first.year * 12 + first.month - 1 - HISTORY_MONTHS
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def assess(reads: Sequence[NewRead]) -> list[NewException]:
    """Consumption (exchange, rollover, multiplier) and VEE for new reads not saved yet, in one engine batch: sets
    each read's quantity and status (held when a blocking rule failed) and answers their exceptions, unsaved —
    so the reads are inserted once, complete, and never updated row by row."""
    reads = [r for r in reads if r.register in ENGINE_REGISTERS]
    if not reads:
        return []
    legs = _legs(reads)
    points = {r.service_point_id for r in reads}
    routes = _routes_of(points)
    zone = timezone.get_current_timezone()
    starts = {period: parse_period(period) for period in {r.period for r in reads}}
    routed = [routes.get(r.service_point_id) for r in reads]
    begins = [starts[r.period] for r in reads]
    cycles = [
        months_between(route[1], start) + 1
        if route is not None and route[0] == Route.Mode.REMOTE and route[1]
        else None
        for route, start in zip(routed, begins, strict=True)
    ]
    columns: dict[str, list[object]] = {  # column by column: one comprehension each, no per-read dict
        "account": [r.service_point_id for r in reads],
        "register": [ENGINE_REGISTERS[r.register] for r in reads],
        "period": list(begins),
        "previous": [_scaled(leg.previous) for leg in legs],
        "current": [_scaled(r.value) for r in reads],
        "digits": [r.digits for r in reads],
        "multiplier": [r.multiplier for r in reads],
        "read_day": [r.read_at.astimezone(zone).date() for r in reads],
        "reading_day": [
            start.replace(day=route[2]) if route is not None else None
            for route, start in zip(routed, begins, strict=True)
        ],
        "estimated": [r.source == MeterRead.Source.ESTIMATE for r in reads],
        "remote_cycle": [c if c is not None and c >= 1 else None for c in cycles],
        "exchanged": [leg.exchanged for leg in legs],
        "old_final": [_scaled(leg.old_final) for leg in legs],
        "new_initial": [_scaled(leg.new_initial) for leg in legs],
        "old_digits": [leg.old_digits for leg in legs],
        "old_multiplier": [leg.old_multiplier for leg in legs],
    }
    batch = pl.DataFrame(
        columns, schema={name: dtype for name, (dtype, _) in vee.BATCH_COLUMNS.items() if name in columns}
    )
    history = history_frame(points, since=_since(r.period for r in reads))
    result = vee.validate(batch, history, vee_rules())
    quantities = result.consumption.get_column("quantity").to_list()
    blocked: set[int] = set()
    exceptions = []
    for row, rule, severity, value, reference in result.frame.select(
        "row", "rule", "severity", "value", "reference"
    ).iter_rows():
        read = reads[row]
        if severity == ReadException.Severity.BLOCK:
            blocked.add(row)
        read.exceptions.append(rule)
        exceptions.append(
            NewException(
                read=read,
                read_id=None,
                task_id=read.task_id,
                service_point_id=read.service_point_id,
                period=read.period,
                rule=rule,
                severity=severity,
                message=vee.message(rule, value, reference)[:300],
            )
        )
    for row, (read, quantity) in enumerate(zip(reads, quantities, strict=True)):
        read.quantity = None if quantity is None else scaled_to_decimal(quantity, QTY_DEC)
        if read.status != MeterRead.Status.ESTIMATED:
            read.status = MeterRead.Status.HELD if row in blocked else MeterRead.Status.VALID
    return exceptions


EXCEPTION_FIELDS = [
    "read_id", "task_id", "service_point_id", "period", "rule", "severity", "message", "proposed_value",
    "status", "reason", "created_at",
]  # fmt: skip


def insert_exceptions(exceptions: Sequence[NewException]) -> None:
    """The exceptions in one go (COPY on PostgreSQL), linked to their reads' ids."""
    if not exceptions:
        return
    now = timezone.now()
    rows = [
        (
            e.read.pk if e.read is not None else e.read_id,
            e.task_id,
            e.service_point_id,
            e.period,
            e.rule,
            e.severity,
            e.message,
            e.proposed_value,
            ReadException.Status.OPEN,
            "",
            now,
        )
        for e in exceptions
    ]
    if bulk.is_postgres():
        bulk.copy_rows(ReadException, EXCEPTION_FIELDS, rows)
    else:
        ReadException.objects.bulk_create(
            [ReadException(**dict(zip(EXCEPTION_FIELDS, row, strict=True))) for row in rows], batch_size=2000
        )


def move_tasks(reads: Sequence[NewRead]) -> None:
    """Each read's task to its new status — one UPDATE per status."""
    by_status: dict[str, list[int]] = defaultdict(list)
    for read in reads:
        if read.task_id is None:
            continue
        status: str
        if read.status == MeterRead.Status.ESTIMATED:
            status = ReadingTask.Status.ESTIMATED
        elif read.status == MeterRead.Status.HELD:
            status = ReadingTask.Status.EXCEPTION
        elif read.exceptions:
            status = ReadingTask.Status.READ
        else:
            status = ReadingTask.Status.VALIDATED
        by_status[status].append(read.task_id)
    for status, ids in by_status.items():
        bulk.update_in(ReadingTask, ids, status=status)


def open_blocking(read_ids: Iterable[int]) -> set[int]:
    """Reads among ``read_ids`` that still have an open blocking exception."""
    return set(
        ReadException.objects.filter(
            read_id__in=list(read_ids),
            status=ReadException.Status.OPEN,
            severity=ReadException.Severity.BLOCK,
        ).values_list("read_id", flat=True)
    )
