"""The period VEE's data (抄表期校核数据): set-based loads of one period into Polars and the engine batch built
from them. The writes are :func:`gridcare.readings.actions.period.do_run_period_vee`'s.

A handful of queries, whatever the number of accounts (COPY … TO STDOUT on PostgreSQL, plain queries on
SQLite), each selecting only the columns it needs (formatting columns is most of a COPY's cost):

* the period's **live reads** (valid, held, estimated) of the routes in scope, with the meter's digits and the
  service point's capacity (0 = not recorded: the capacity rules skip it);
* the **previous readings**: the valid reads of the period before (two before for bi-monthly routes); a read
  without one there (a new meter, an exchange, a gap) takes the capture path's own rule, read by read;
* the **history**: validated 有功总 quantities of the three periods before and the same month last year;
* the **tasks still pending after the reading window** (reading day + the on-time tolerance): missing reads;
  and the period's tasks not validated yet (their statuses);
* the exceptions already raised in the period (so a second run raises nothing twice).

The routes in scope come from :func:`gridcare.core.access.restrict` as a subquery, so the SQL never skips the
data scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from gridcare.core.frames import FrameQuery, attach, epoch_sql, query_frames, scaled, scaled_sql
from gridcare.customers.models import ServicePoint
from gridcare.engine import vee
from gridcare.engine.money import QTY_DEC
from gridcare.metering.models import Meter
from gridcare.readings.actions.validation import NewRead, _Leg, _legs, _scaled
from gridcare.readings.conf import ENGINE_REGISTERS
from gridcare.readings.models import MeterRead, ReadException, ReadingTask, Route, RouteStop
from gridcare.readings.periods import months_between, parse_period

LIVE = (MeterRead.Status.VALID, MeterRead.Status.HELD, MeterRead.Status.ESTIMATED)
#: how many periods back the previous reading is looked for in the set-based load (older: read by read)
HISTORY_PERIODS = 3
TOTAL = ENGINE_REGISTERS["active_total"]
#: PostgreSQL work_mem of the load's transaction (``GRIDCARE_VEE_WORK_MEM`` overrides it)
WORK_MEM = "256MB"
#: PostgreSQL settings of the load's transaction beyond work_mem (``GRIDCARE_VEE_PARALLEL`` sets them). Empty:
#: the server's own — its default costs keep the million-row loads serial. ``{"parallel_setup_cost": "0",
#: "parallel_tuple_cost": "0.0001"}`` makes the reads' joins parallel hash joins (docs/readings.md: faster
#: alone, not shown to pay in the whole run on two busy cores, so not the default)
PARALLEL: dict[str, str] = {}
#: connections the load's queries run on at once (``GRIDCARE_VEE_LOAD_CONNECTIONS``): two keep both cores busy —
#: PostgreSQL formatting one query's rows while this process parses another's (1,000,000 accounts: the load
#: 7.5 → 5.5 s wall on two idle cores, docs/readings.md)
LOAD_CONNECTIONS = 2

READ_SCHEMA: dict[str, type[pl.DataType] | pl.Decimal] = {
    "read": pl.Int64,
    "account": pl.Int64,
    "meter": pl.Int64,
    "register": pl.String,
    "at": pl.Int64,
    "value": scaled(QTY_DEC),
    "multiplier": pl.Int64,
    "quantity": scaled(QTY_DEC),
    "status": pl.String,
    "source": pl.String,
    "task": pl.Int64,
    "digits": pl.Int64,
    "route": pl.Int64,
    "capacity": scaled(QTY_DEC),
}
TASK_SCHEMA: dict[str, type[pl.DataType] | pl.Decimal] = {"task": pl.Int64, "task_status": pl.String}
EARLIER_SCHEMA: dict[str, type[pl.DataType] | pl.Decimal] = {
    "meter": pl.Int64,
    "register": pl.String,
    "at": pl.Int64,
    "value": scaled(QTY_DEC),
}
HISTORY_SCHEMA: dict[str, type[pl.DataType] | pl.Decimal] = {
    "account": pl.Int64,
    "period": pl.String,
    "quantity": scaled(QTY_DEC),
    "multiplier": pl.Int64,
}
MISSING_SCHEMA: dict[str, type[pl.DataType] | pl.Decimal] = {
    "task": pl.Int64,
    "account": pl.Int64,
    "meter": pl.Int64,
    "register": pl.String,
    "route": pl.Int64,
    "digits": pl.Int64,
}
EXCEPTION_SCHEMA: dict[str, type[pl.DataType] | pl.Decimal] = {
    "id": pl.Int64,
    "read": pl.Int64,
    "task": pl.Int64,
    "rule": pl.String,
    "status": pl.String,
    "severity": pl.String,
}


def shift_period(period: str, months: int) -> str:
    start = parse_period(period)
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _marks(values: Sequence[str]) -> str:
    return ", ".join(["%s"] * len(values))


def _table(model: Any) -> str:
    return f'"{model._meta.db_table}"'


@dataclass(frozen=True)
class PeriodData:
    """Everything the period VEE reads, as frames."""

    period: str
    reads: pl.DataFrame
    earlier: (
        pl.DataFrame
    )  # valid reads of the period before (two before on bi-monthly routes): previous readings
    history: pl.DataFrame  # valid active-total quantities of the three periods before and a year before
    missing: pl.DataFrame
    exceptions: pl.DataFrame
    tasks: pl.DataFrame  # the period's tasks not validated yet (a task absent from it is validated)


def _live_read_queries(
    period: str,
    registers: list[str],
    on_routes: str,
    scope_params: Sequence[Any],
    route_sql: str,
    route_params: Sequence[Any],
    everything: bool,
) -> dict[str, FrameQuery]:
    """The queries of the period's live reads (:func:`_live_reads` matches them): the reads alone, the route
    stops in scope, the service points' capacities, the meters' digits.

    Four plain queries matched in Polars rather than one query joining them: PostgreSQL's hash joins over a
    million meters, stops and service points cost it about three times the plain scans (measured, backend CPU
    for 1.6 M reads: 7.6–8.2 s joined; 2.2 s for the reads, 0.3–0.4 s for each of the three others), and
    :func:`~gridcare.core.frames.attach` matches ids by array look-up in ~0.1 s."""
    in_scope = (
        ""
        if everything
        else f" WHERE p.id IN (SELECT s.service_point_id FROM {_table(RouteStop)} s "
        f"WHERE s.route_id IN ({route_sql}))"
    )
    return {
        "reads": FrameQuery(
            f"SELECT r.id, r.service_point_id, r.meter_id, r.register, {epoch_sql('r.read_at')}, "
            f"{scaled_sql('r.value', QTY_DEC)}, r.multiplier, {scaled_sql('r.quantity', QTY_DEC)}, r.status, "
            f"r.source, r.task_id FROM {_table(MeterRead)} r "
            f"WHERE r.period = %s AND r.status IN ({_marks(LIVE)}) AND r.register IN ({_marks(registers)}) "
            f"{on_routes}",
            [period, *LIVE, *registers, *scope_params],
            {name: READ_SCHEMA[name] for name in list(READ_SCHEMA)[:11]},
        ),
        "stops": FrameQuery(
            f"SELECT s.service_point_id, s.route_id FROM {_table(RouteStop)} s WHERE s.route_id IN ({route_sql})",
            list(route_params),
            {"account": pl.Int64, "route": pl.Int64},
        ),
        "capacities": FrameQuery(
            f"SELECT p.id, {scaled_sql('NULLIF(p.capacity_kva, 0)', QTY_DEC)} FROM {_table(ServicePoint)} p"
            + in_scope,
            list(scope_params),
            {"account": pl.Int64, "capacity": READ_SCHEMA["capacity"]},
        ),
        "meters": FrameQuery(
            f"SELECT m.id, m.register_digits FROM {_table(Meter)} m"
            + (
                ""
                if everything
                else f" WHERE m.id IN (SELECT r.meter_id FROM {_table(MeterRead)} r WHERE r.period = %s "
                f"{on_routes})"
            ),
            [] if everything else [period, *scope_params],
            {"meter": pl.Int64, "digits": pl.Int64},
        ),
    }


def _live_reads(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The period's live reads of the service points on the routes in scope, with the meter's digits, the
    route and the service point's capacity (:data:`READ_SCHEMA`). A read whose service point is on no route in
    scope is dropped by the inner match, as a join would drop it; every stop's service point exists (a foreign
    key), so matching the capacities inner is a join's outer one."""
    points = attach(frames["stops"], frames["capacities"], "account")
    return attach(attach(frames["reads"], points, "account"), frames["meters"], "meter").select(
        list(READ_SCHEMA)
    )


def load(period: str, routes: QuerySet[Route], *, missing_before: dt.date) -> PeriodData:
    """The period's reads, recent history, missing reads (tasks of a reading day before ``missing_before``),
    exceptions and unvalidated tasks for the service points on ``routes`` (a restricted queryset).

    When ``routes`` is every route (company scope, no unit chosen) the history is read without the join to the
    route stops: the reads of a service point on no route are loaded too, and simply match nothing. The
    queries run on :data:`LOAD_CONNECTIONS` connections at once where they can (:func:`query_frames`)."""
    route_sql, route_params = routes.values("pk").query.sql_with_params()
    everything = not routes.query.where
    registers = list(ENGINE_REGISTERS)
    local: dict[str, str] = {}
    if connection.vendor == "postgresql":
        local = {
            # hash joins over a million service points stay in memory
            "work_mem": str(getattr(settings, "GRIDCARE_VEE_WORK_MEM", WORK_MEM)),
            **getattr(settings, "GRIDCARE_VEE_PARALLEL", PARALLEL),
        }
        if connection.in_atomic_block:
            with connection.cursor() as cursor:
                for name, value in local.items():
                    cursor.execute("SELECT set_config(%s, %s, true)", [name, str(value)])
    on_routes = (
        ""
        if everything
        else f"AND r.service_point_id IN (SELECT s.service_point_id FROM {_table(RouteStop)} s "
        f"WHERE s.route_id IN ({route_sql}))"
    )
    scope_params = [] if everything else route_params
    bimonthly = (
        f"SELECT s.service_point_id FROM {_table(RouteStop)} s JOIN {_table(Route)} ro ON ro.id = s.route_id "
        f"WHERE ro.frequency = %s AND ro.id IN ({route_sql})"
    )
    periods = [shift_period(period, -n) for n in range(1, HISTORY_PERIODS + 1)] + [shift_period(period, -12)]
    earlier = (
        f"SELECT r.meter_id, r.register, {epoch_sql('r.read_at')}, {scaled_sql('r.value', QTY_DEC)} "
        f"FROM {_table(MeterRead)} r WHERE r.period = %s AND r.status = %s AND r.register IN ({_marks(registers)}) "
    )
    queries = {  # the largest first: each connection takes the next one off the list
        "history": FrameQuery(
            f"SELECT r.service_point_id, r.period, {scaled_sql('r.quantity', QTY_DEC)}, r.multiplier "
            f"FROM {_table(MeterRead)} r "
            f"WHERE r.period IN ({_marks(periods)}) AND r.status = %s AND r.register = %s "
            f"AND r.quantity IS NOT NULL {on_routes}",
            [*periods, MeterRead.Status.VALID, "active_total", *scope_params],
            HISTORY_SCHEMA,
        ),
        **_live_read_queries(period, registers, on_routes, scope_params, route_sql, route_params, everything),
        "earlier": FrameQuery(
            earlier + on_routes,
            [shift_period(period, -1), MeterRead.Status.VALID, *registers, *scope_params],
            EARLIER_SCHEMA,
        ),
        "earlier_bimonthly": FrameQuery(
            earlier + f"AND r.service_point_id IN ({bimonthly})",
            [
                shift_period(period, -2),
                MeterRead.Status.VALID,
                *registers,
                Route.Frequency.BIMONTHLY,
                *route_params,
            ],
            EARLIER_SCHEMA,
        ),
        "tasks": FrameQuery(
            f"SELECT t.id, t.status FROM {_table(ReadingTask)} t "
            f"WHERE t.period = %s AND t.status <> %s AND t.route_id IN ({route_sql})",
            [period, ReadingTask.Status.VALIDATED, *route_params],
            TASK_SCHEMA,
        ),
        "missing": FrameQuery(
            f"SELECT t.id, t.service_point_id, t.meter_id, t.register, t.route_id, m.register_digits "
            f"FROM {_table(ReadingTask)} t JOIN {_table(Meter)} m ON m.id = t.meter_id "
            f"WHERE t.period = %s AND t.status = %s AND t.due_date < %s AND t.register IN ({_marks(registers)}) "
            f"AND t.route_id IN ({route_sql})",
            [period, ReadingTask.Status.PENDING, missing_before, *registers, *route_params],
            MISSING_SCHEMA,
        ),
        "exceptions": FrameQuery(
            f"SELECT e.id, e.read_id, e.task_id, e.rule, e.status, e.severity FROM {_table(ReadException)} e "
            f"JOIN {_table(RouteStop)} s ON s.service_point_id = e.service_point_id "
            f"WHERE e.period = %s AND e.status <> %s AND s.route_id IN ({route_sql})",
            [period, ReadException.Status.CLEARED, *route_params],
            EXCEPTION_SCHEMA,
        ),
    }
    connections = int(getattr(settings, "GRIDCARE_VEE_LOAD_CONNECTIONS", LOAD_CONNECTIONS))
    frames = query_frames(queries, connections=connections, session=local)
    return PeriodData(
        period,
        _live_reads(frames),
        pl.concat([frames["earlier"], frames["earlier_bimonthly"]]),
        frames["history"],
        frames["missing"],
        frames["exceptions"],
        frames["tasks"],
    )


def route_frame(routes: QuerySet[Route], start: dt.date) -> pl.DataFrame:
    """Per route in scope: its reading day (抄表例日) in the period and the remote-reading cycle (1 = first)."""
    rows = []
    for pk, reading_day, mode, remote_since in routes.values_list(
        "pk", "reading_day", "mode", "remote_since"
    ):
        cycle = (
            months_between(remote_since, start) + 1 if mode == Route.Mode.REMOTE and remote_since else None
        )
        rows.append((pk, start.replace(day=reading_day), cycle if cycle is not None and cycle >= 1 else None))
    return pl.DataFrame(
        rows, schema={"route": pl.Int64, "reading_day": pl.Date, "remote_cycle": pl.Int64}, orient="row"
    )


def _previous(data: PeriodData) -> pl.DataFrame:
    """Each live read with the register's last valid reading before it (``previous``), null where none is in
    the recent periods or the period's own valid reads. One sort and one binary search over a packed
    (meter, register, time) int64 key — no join on a million groups."""
    candidates = pl.concat(
        [
            data.earlier,
            data.reads.filter(pl.col("status") == MeterRead.Status.VALID).select(
                "meter", "register", "at", "value"
            ),
        ]
    )
    if candidates.height == 0 or data.reads.height == 0:
        return data.reads.with_columns(pl.lit(None, pl.Int64).alias("previous"))
    codes = {name: index for index, name in enumerate(ENGINE_REGISTERS)}
    both = pl.concat([candidates.get_column("at"), data.reads.get_column("at")])
    lo, hi = int(both.min() or 0), int(both.max() or 0)  # type: ignore[arg-type]
    span = hi - lo + 1

    def packed(frame: pl.DataFrame) -> np.ndarray:
        series = pl.col("meter") * len(codes) + pl.col("register").replace_strict(
            codes, return_dtype=pl.Int64
        )
        return frame.select(series * span + pl.col("at") - lo).to_series().to_numpy()

    keys = packed(candidates)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    values = candidates.get_column("value").to_numpy()[order]
    wanted = packed(data.reads)
    found = np.searchsorted(keys, wanted, side="left") - 1  # the last candidate strictly before the read
    safe = np.maximum(found, 0)
    same = (found >= 0) & (keys[safe] // span == wanted // span)
    previous = pl.Series("previous", values[safe], dtype=pl.Int64).scatter(np.flatnonzero(~same), None)
    return data.reads.with_columns(previous)


def _fallback_legs(read_ids: list[int]) -> dict[int, _Leg]:
    """Reads with no valid reading in the recent periods (a new meter, an exchange, a long gap): the capture
    path's own start-of-consumption rule, read by read (few of them)."""
    if not read_ids:
        return {}
    reads = list(MeterRead.objects.filter(pk__in=read_ids).select_related("meter"))
    pending = [
        NewRead(
            index,
            r.meter_id,
            r.register,
            r.read_at,
            r.value,
            r.source,
            r.condition,
            r.service_point_id,
            r.period,
            r.task_id,
            r.multiplier,
            r.meter.register_digits,
        )
        for index, r in enumerate(reads)
    ]
    return {read.pk: leg for read, leg in zip(reads, _legs(pending), strict=True)}


BATCH_SCHEMA = {name: dtype for name, (dtype, _) in vee.BATCH_COLUMNS.items()}
LEG_COLUMNS = ("previous", "exchanged", "old_final", "new_initial", "old_digits", "old_multiplier")


def batch(data: PeriodData, route_info: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(batch, meta, history)``: the engine batch (reads first, then one row per missing read), the app's ids
    of each batch row (``read``, ``task``, ``account``, loaded ``quantity``/``status``, ``task_status``,
    ``estimated``) and the engine history (validated ``active_total`` quantities per service point and period)."""
    start = parse_period(data.period)
    days = (parse_period(shift_period(data.period, 1)) - start).days
    reads = _previous(data).join(data.tasks, on="task", how="left", maintain_order="left")
    reads = reads.with_columns(
        pl.when(pl.col("task").is_not_null())
        .then(pl.col("task_status").fill_null(pl.lit(ReadingTask.Status.VALIDATED)))
        .alias("task_status")
    )
    unknown = reads.filter(pl.col("previous").is_null()).get_column("read").to_list()
    legs = _fallback_legs(unknown)
    if legs:
        patch = pl.DataFrame(
            [
                (
                    pk,
                    _scaled(leg.previous),
                    leg.exchanged,
                    _scaled(leg.old_final),
                    _scaled(leg.new_initial),
                    leg.old_digits,
                    leg.old_multiplier,
                )
                for pk, leg in legs.items()
            ],
            schema={"read": pl.Int64, **{c: BATCH_SCHEMA[c] for c in LEG_COLUMNS}},
            orient="row",
        )
        reads = (
            reads.join(
                patch.rename({"previous": "leg_previous"}), on="read", how="left", maintain_order="left"
            )
            .with_columns(pl.coalesce("previous", "leg_previous").alias("previous"))
            .drop("leg_previous")
        )
    else:
        reads = reads.with_columns(
            pl.lit(False).alias("exchanged"),
            *(
                pl.lit(None, pl.Int64).alias(c)
                for c in ("old_final", "new_initial", "old_digits", "old_multiplier")
            ),
        )
    timezone = str(settings.TIME_ZONE)
    read_rows = reads.join(route_info, on="route", how="left", maintain_order="left").select(
        "read",
        "task",
        "task_status",
        "status",
        "quantity",
        pl.col("account"),
        pl.col("register").replace_strict(ENGINE_REGISTERS, return_dtype=pl.String),
        pl.lit(start).alias("period"),
        "previous",
        pl.col("value").alias("current"),
        "digits",
        "multiplier",
        pl.from_epoch("at", time_unit="s").dt.convert_time_zone(timezone).dt.date().alias("read_day"),
        "reading_day",
        (pl.col("source") == MeterRead.Source.ESTIMATE).alias("estimated"),
        "remote_cycle",
        pl.col("capacity"),
        pl.lit(days * 24, pl.Int64).alias("hours"),
        pl.col("exchanged").fill_null(False),
        "old_final",
        "new_initial",
        "old_digits",
        "old_multiplier",
    )
    missing_rows = data.missing.join(route_info, on="route", how="left", maintain_order="left").select(
        pl.lit(None, pl.Int64).alias("read"),
        "task",
        pl.lit(ReadingTask.Status.PENDING).alias("task_status"),
        pl.lit(None, pl.String).alias("status"),
        pl.lit(None, pl.Int64).alias("quantity"),
        "account",
        pl.col("register").replace_strict(ENGINE_REGISTERS, return_dtype=pl.String),
        pl.lit(start).alias("period"),
        pl.lit(None, pl.Int64).alias("previous"),
        pl.lit(None, pl.Int64).alias("current"),
        "digits",
        pl.lit(1, pl.Int64).alias("multiplier"),
        pl.lit(None, pl.Date).alias("read_day"),
        "reading_day",
        pl.lit(False).alias("estimated"),
        "remote_cycle",
        pl.lit(None, pl.Int64).alias("capacity"),
        pl.lit(None, pl.Int64).alias("hours"),
        pl.lit(False).alias("exchanged"),
        *(
            pl.lit(None, pl.Int64).alias(c)
            for c in ("old_final", "new_initial", "old_digits", "old_multiplier")
        ),
    )
    rows = pl.concat([read_rows, missing_rows.cast(read_rows.schema)], how="vertical")
    meta = rows.select("read", "task", "task_status", "status", "quantity", "account", "estimated")
    engine_batch = rows.select(list(BATCH_SCHEMA))
    return engine_batch, meta, _history(data)


def _history(data: PeriodData) -> pl.DataFrame:
    """The engine history: one row per service point and period — the quantities of two meters in an exchange
    month add up, the larger multiplier is kept. Grouped on one packed int64 key sorted by NumPy, summed only
    where a key repeats (rare): a hash group-by on four million rows costs about five times that (1.6 against
    0.3 s of CPU), and the engine finds the rows already in its own key order."""
    periods = sorted(set(data.history.get_column("period").unique().to_list())) or [data.period]
    slot = {name: index for index, name in enumerate(periods)}
    packed = data.history.select(
        (pl.col("account") * len(slot) + pl.col("period").replace_strict(slot, return_dtype=pl.Int64)).alias(
            "key"
        ),
        "quantity",
        "multiplier",
    )
    keys = packed.get_column("key").to_numpy()
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    quantity = packed.get_column("quantity").to_numpy()[order]
    multiplier = packed.get_column("multiplier").to_numpy()[order]
    first = np.ones(keys.size, dtype=np.bool_)
    first[1:] = keys[1:] != keys[:-1]
    if not first.all():
        starts = np.flatnonzero(first)
        keys = keys[starts]
        quantity = np.add.reduceat(quantity, starts)
        multiplier = np.maximum.reduceat(multiplier, starts)
    return pl.DataFrame(
        {"key": keys, "quantity": quantity, "multiplier": multiplier},
        schema={"key": pl.Int64, "quantity": pl.Int64, "multiplier": pl.Int64},
    ).select(
        (pl.col("key") // len(slot)).alias("account"),
        pl.lit(TOTAL).alias("register"),
        (pl.col("key") % len(slot))
        .replace_strict(range(len(periods)), [parse_period(name) for name in periods], return_dtype=pl.Date)
        .alias("period"),
        "quantity",
        "multiplier",
    )
