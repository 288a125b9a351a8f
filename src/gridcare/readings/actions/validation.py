"""Consumption and VEE of stored reads (抄表数据校核), one engine batch per call: where each read's consumption
starts (previous read, installation read, or both meters of an exchange), the validated history, the rules —
then quantities, statuses, exceptions and task moves written back in bulk."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from django.utils import timezone

from gridcare.engine import vee
from gridcare.engine.money import QTY_DEC, decimal_to_scaled, scaled_to_decimal
from gridcare.metering.models import Installation, InstallationRead
from gridcare.readings.conf import ENGINE_REGISTERS, vee_rules
from gridcare.readings.models import MeterRead, ReadException, ReadingTask, Route, RouteStop
from gridcare.readings.periods import months_between, parse_period


@dataclass
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


def _legs(reads: Sequence[MeterRead]) -> dict[int, _Leg]:
    """The start of each read's consumption, found with a few set-based queries."""
    meter_ids = {r.meter_id for r in reads}
    earliest = min(r.read_at for r in reads) - dt.timedelta(days=400)
    previous: dict[tuple[int, str], list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for meter, register, at, value in (
        MeterRead.objects.filter(meter_id__in=meter_ids, status=MeterRead.Status.VALID, read_at__gte=earliest)
        .order_by("read_at")
        .values_list("meter_id", "register", "read_at", "value")
    ):
        previous[(meter, register)].append((at, value))
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
        before = [v for at, v in previous[(read.meter_id, read.register)] if at < read.read_at]
        installation = installs.get(read.meter_id)
        if before or installation is None:
            legs[id(read)] = _Leg(before[-1] if before else None)
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


def _routes_of(points: set[int]) -> dict[int, Route]:
    return {
        s.service_point_id: s.route
        for s in RouteStop.objects.filter(service_point_id__in=points).select_related("route")
    }


def history_frame(points: set[int], registers: set[str] | None = None) -> pl.DataFrame:
    """Validated consumption per service point, register and period (the engine's history)."""
    rows = MeterRead.objects.filter(
        service_point_id__in=points, status=MeterRead.Status.VALID, quantity__isnull=False
    ).values_list("service_point_id", "register", "period", "quantity", "multiplier")
    totals: dict[tuple[int, str, str], list[int]] = {}
    for point, register, period, quantity, multiplier in rows:
        if register not in ENGINE_REGISTERS or quantity is None:
            continue
        entry = totals.setdefault((point, register, period), [0, multiplier])
        entry[0] += decimal_to_scaled(quantity, QTY_DEC)
    return pl.DataFrame(
        {
            "account": [k[0] for k in totals],
            "register": [ENGINE_REGISTERS[k[1]] for k in totals],
            "period": [parse_period(k[2]) for k in totals],
            "quantity": [v[0] for v in totals.values()],
            "multiplier": [v[1] for v in totals.values()],
        },
        schema=vee.HISTORY_COLUMNS,
    )


def assess(reads: Sequence[MeterRead]) -> list[ReadException]:
    """Consumption (exchange, rollover, multiplier) and VEE for new reads not saved yet, in one engine batch: sets
    each read's quantity and status (held when a blocking rule failed) and answers their exceptions, unsaved —
    so the reads are inserted once, complete, and never updated row by row."""
    reads = [r for r in reads if r.register in ENGINE_REGISTERS]
    if not reads:
        return []
    legs = _legs(reads)
    routes = _routes_of({r.service_point_id for r in reads})
    rows = []
    for read in reads:
        leg = legs[id(read)]
        route = routes.get(read.service_point_id)
        start = parse_period(read.period)
        remote_cycle = (
            months_between(route.remote_since, start) + 1
            if route is not None and route.mode == Route.Mode.REMOTE and route.remote_since
            else None
        )
        rows.append(
            {
                "account": read.service_point_id,
                "register": ENGINE_REGISTERS[read.register],
                "period": start,
                "previous": _scaled(leg.previous),
                "current": _scaled(read.value),
                "digits": read.meter.register_digits,
                "multiplier": read.multiplier,
                "read_day": timezone.localtime(read.read_at).date(),
                "reading_day": start.replace(day=route.reading_day) if route is not None else None,
                "estimated": read.source == MeterRead.Source.ESTIMATE,
                "remote_cycle": remote_cycle if remote_cycle is not None and remote_cycle >= 1 else None,
                "exchanged": leg.exchanged,
                "old_final": _scaled(leg.old_final),
                "new_initial": _scaled(leg.new_initial),
                "old_digits": leg.old_digits,
                "old_multiplier": leg.old_multiplier,
            }
        )
    batch = pl.DataFrame(rows, schema={name: dtype for name, (dtype, _) in vee.BATCH_COLUMNS.items()})
    result = vee.validate(batch, history_frame({r.service_point_id for r in reads}), vee_rules())
    quantities = result.consumption.get_column("quantity").to_list()
    blocked: set[int] = set()
    exceptions = []
    for row, rule, severity, value, reference in result.frame.select(
        "row", "rule", "severity", "value", "reference"
    ).iter_rows():
        read = reads[row]
        if severity == ReadException.Severity.BLOCK:
            blocked.add(id(read))
        exceptions.append(
            ReadException(
                read=read,
                task=read.task,
                service_point_id=read.service_point_id,
                period=read.period,
                rule=rule,
                severity=severity,
                message=vee.message(rule, value, reference)[:300],
            )
        )
    for read, quantity in zip(reads, quantities, strict=True):
        read.quantity = None if quantity is None else scaled_to_decimal(quantity, QTY_DEC)
        if read.status != MeterRead.Status.ESTIMATED:
            read.status = MeterRead.Status.HELD if id(read) in blocked else MeterRead.Status.VALID
    return exceptions


def record_outcome(reads: Sequence[MeterRead], exceptions: Sequence[ReadException]) -> dict[int, list[str]]:
    """Once the reads are saved: their exceptions in bulk and their tasks moved. Rule codes per read id."""
    ReadException.objects.bulk_create(exceptions, batch_size=2000)
    found: dict[int, list[str]] = defaultdict(list)
    for exception in exceptions:
        assert exception.read is not None
        found[exception.read.pk].append(exception.rule)
    _move_tasks(reads, found)
    return dict(found)


def _move_tasks(reads: Sequence[MeterRead], found: Mapping[int, list[str]]) -> None:
    by_status: dict[str, list[int]] = defaultdict(list)
    for read in reads:
        if read.task_id is None:
            continue
        status: str
        if read.status == MeterRead.Status.ESTIMATED:
            status = ReadingTask.Status.ESTIMATED
        elif read.status == MeterRead.Status.HELD:
            status = ReadingTask.Status.EXCEPTION
        elif found.get(read.pk):
            status = ReadingTask.Status.READ
        else:
            status = ReadingTask.Status.VALIDATED
        by_status[status].append(read.task_id)
    for status, ids in by_status.items():
        ReadingTask.objects.filter(pk__in=ids).update(status=status)


def open_blocking(read_ids: Iterable[int]) -> set[int]:
    """Reads among ``read_ids`` that still have an open blocking exception."""
    return set(
        ReadException.objects.filter(
            read_id__in=list(read_ids),
            status=ReadException.Status.OPEN,
            severity=ReadException.Severity.BLOCK,
        ).values_list("read_id", flat=True)
    )
