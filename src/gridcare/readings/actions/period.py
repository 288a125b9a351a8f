"""Period VEE (抄表期校核): validate a whole period set-based, after the reading windows have closed.

Capture validates each batch as it arrives; the period run looks at the period as a whole once the reads are in:
every live read again (its previous reading may have been corrected since, the TOU registers may have come in
another batch), and every task still pending after its reading window (reading day + the on-time tolerance)
as a missing read. It loads with a few queries (:mod:`gridcare.readings.periodvee`), runs the engine once and
writes back in bulk:

* **new exceptions only** — an exception already raised for the same read (or, for a missing read, the same
  task) and rule, open or decided, is not raised again: a second run changes nothing;
* open exceptions of a re-validated read whose rule no longer fires (the previous period was corrected, the
  missing read came in) are **cleared**;
* read quantities and statuses (held while a blocking exception is open, else valid) and task statuses in a
  few set-based UPDATEs; a missing read leaves its task pending, on the reader's list.

Two runs of the same period are kept apart by :func:`gridcare.core.locks.job_lock`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import restrict
from gridcare.core.actions import action
from gridcare.core.frames import update_rows
from gridcare.core.locks import job_lock
from gridcare.customers.bulk import BulkWriter
from gridcare.engine import vee
from gridcare.engine.money import QTY_DEC, scaled_to_decimal
from gridcare.org.models import OrgUnit, User
from gridcare.readings import periodvee
from gridcare.readings.conf import on_time_days, vee_rules
from gridcare.readings.models import MeterRead, ReadException, ReadingTask, Route
from gridcare.readings.periods import parse_period

CLEARED_REASON = "周期校核复核后不再成立 (no longer found by the period validation)"
EXCEPTION_FIELDS = [
    "read_id",
    "task_id",
    "service_point_id",
    "period",
    "rule",
    "severity",
    "message",
    "status",
    "reason",
    "created_at",
]


@dataclass
class PeriodVeeResult:
    """What a period run did: rows checked, exceptions raised per rule, statuses moved, seconds per phase."""

    period: str
    routes: int = 0
    reads: int = 0
    missing: int = 0
    raised: dict[str, int] = field(default_factory=dict)
    cleared: int = 0
    reads_updated: int = 0
    tasks_updated: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_raised(self) -> int:
        return sum(self.raised.values())


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """``kind``/``key``: an exception belongs to its read, or — a missing read — to its task."""
    return frame.with_columns(
        pl.when(pl.col("read").is_not_null()).then(pl.lit("r")).otherwise(pl.lit("t")).alias("kind"),
        pl.coalesce("read", "task").alias("key"),
    )


def _decide(
    result: vee.Exceptions, meta: pl.DataFrame, existing: pl.DataFrame, rules: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(new exceptions, stale exception ids, read updates, task updates)`` from the engine's result."""
    keys = ["kind", "key", "rule"]
    fired = _keyed(
        result.frame.select("row", "rule", "severity", "value", "reference").join(
            meta.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64)), on="row", how="left"
        )
    )
    known = _keyed(existing)
    new = fired.join(known.select(keys), on=keys, how="anti")
    checked = pl.concat(
        [
            meta.filter(pl.col("read").is_not_null()).select(
                pl.lit("r").alias("kind"), pl.col("read").alias("key")
            ),
            meta.filter(pl.col("task").is_not_null()).select(
                pl.lit("t").alias("kind"), pl.col("task").alias("key")
            ),
        ]
    ).unique()
    open_known = known.filter(pl.col("status") == ReadException.Status.OPEN)
    stale = (
        open_known.filter(pl.col("rule").is_in(rules))  # only rules this run evaluated
        .join(checked, on=["kind", "key"], how="semi")
        .join(fired.select(keys), on=keys, how="anti")
    )
    still_open = pl.concat(
        [
            open_known.join(stale.select("id"), on="id", how="anti").select("read", "severity"),
            new.select("read", "severity"),
        ]
    ).filter(pl.col("read").is_not_null())
    blocking = (
        still_open.filter(pl.col("severity") == ReadException.Severity.BLOCK).get_column("read").unique()
    )
    queued = still_open.get_column("read").unique()
    quantities = result.consumption.get_column("quantity")
    reads = (
        meta.with_columns(quantities.alias("new_quantity"))
        .filter(pl.col("read").is_not_null())
        .with_columns(
            pl.when(pl.col("status") == MeterRead.Status.ESTIMATED)
            .then(pl.col("status"))
            .when(pl.col("read").is_in(blocking.implode()))
            .then(pl.lit(MeterRead.Status.HELD))
            .otherwise(pl.lit(MeterRead.Status.VALID))
            .alias("new_status"),
        )
    )
    tasks = (
        reads.filter(pl.col("task").is_not_null() & (pl.col("task_status") != ReadingTask.Status.REREAD))
        .with_columns(
            pl.when(pl.col("new_status") == MeterRead.Status.ESTIMATED)
            .then(pl.lit(ReadingTask.Status.ESTIMATED))
            .when(pl.col("new_status") == MeterRead.Status.HELD)
            .then(pl.lit(ReadingTask.Status.EXCEPTION))
            .when(pl.col("read").is_in(queued.implode()))
            .then(pl.lit(ReadingTask.Status.READ))
            .otherwise(pl.lit(ReadingTask.Status.VALIDATED))
            .alias("new_task_status")
        )
        .filter(pl.col("new_task_status") != pl.col("task_status"))
        .unique("task", keep="last")
        .select("task", "task_status", "new_task_status")
    )
    changed = reads.filter(
        (pl.col("new_status") != pl.col("status")) | pl.col("new_quantity").ne_missing(pl.col("quantity"))
    ).select("read", "status", "new_status", "quantity", "new_quantity")
    return new, stale.select("id", "rule"), changed, tasks


def _quantity(value: int | None) -> Any:
    return None if value is None else scaled_to_decimal(value, QTY_DEC)


def _write(
    actor: User, period: str, new: pl.DataFrame, stale: pl.DataFrame, reads: pl.DataFrame, tasks: pl.DataFrame
) -> None:
    now = timezone.now()
    rows = [
        (
            read,
            task,
            account,
            period,
            rule,
            severity,
            vee.message(rule, value, reference)[:300],
            ReadException.Status.OPEN,
            "",
            now,
        )
        for read, task, account, rule, severity, value, reference in new.select(
            "read", "task", "account", "rule", "severity", "value", "reference"
        ).iter_rows()
    ]
    BulkWriter().insert(ReadException, EXCEPTION_FIELDS, rows)
    update_rows(
        ReadException,
        ["status", "reason", "decided_at"],
        ((pk, ReadException.Status.CLEARED, CLEARED_REASON, now) for pk in stale.get_column("id").to_list()),
    )
    update_rows(
        MeterRead,
        ["quantity", "status"],
        (
            (pk, _quantity(quantity), status)
            for pk, quantity, status in reads.select("read", "new_quantity", "new_status").iter_rows()
        ),
    )
    update_rows(ReadingTask, ["status"], tasks.select("task", "new_task_status").iter_rows())
    audit.bulk_record(
        actor,
        "readings.run_period_vee",
        [
            {
                "object_type": "readings.meterread",
                "object_id": pk,
                "before": {"status": status, "quantity": _quantity(before)},
                "after": {"status": new_status, "quantity": _quantity(after)},
            }
            for pk, status, new_status, before, after in reads.select(
                "read", "status", "new_status", "quantity", "new_quantity"
            ).iter_rows()
        ]
        + [
            {
                "object_type": "readings.readexception",
                "object_id": pk,
                "after": {"status": "cleared", "rule": rule},
            }
            for pk, rule in stale.iter_rows()
        ],
    )


@action("readings.run_period_vee", permission="reading.review")
def do_run_period_vee(
    actor: User,
    period: str,
    *,
    org_unit: OrgUnit | None = None,
    routes: list[Route] | None = None,
    today: dt.date | None = None,
) -> PeriodVeeResult:
    """抄表期校核 — VEE of every live read of ``period`` on the routes in the actor's scope (under ``org_unit``,
    or only ``routes``) and a missing-read exception for every task still pending after its reading window.
    Idempotent; a second concurrent run of the period raises :class:`~gridcare.core.locks.JobBusy`."""
    parse_period(period)
    today = today or timezone.localdate()
    marks = [time.perf_counter()]
    with job_lock(f"readings.period_vee.{period}"):
        chosen = restrict(Route.objects.all(), actor, write=True)
        if org_unit is not None:
            chosen = chosen.filter(org_unit__path__startswith=org_unit.path)
        if routes is not None:
            chosen = chosen.filter(pk__in=[r.pk for r in routes])
        route_info = periodvee.route_frame(chosen, parse_period(period))
        data = periodvee.load(period, chosen, missing_before=today - dt.timedelta(days=on_time_days()))
        batch, meta, history = periodvee.batch(data, route_info)
        marks.append(time.perf_counter())
        rules = vee_rules()
        result = vee.validate(batch, history, rules)
        marks.append(time.perf_counter())
        new, stale, reads, tasks = _decide(result, meta, data.exceptions, [r.code for r in rules])
        _write(actor, period, new, stale, reads, tasks)
        outcome = PeriodVeeResult(
            period=period,
            routes=route_info.height,
            reads=data.reads.height,
            missing=data.missing.height,
            raised=dict(Counter(new.get_column("rule").to_list()).most_common()),
            cleared=stale.height,
            reads_updated=reads.height,
            tasks_updated=tasks.height,
        )
        audit.record(
            actor,
            "readings.run_period_vee",
            object_type="readings.plan",
            object_id=period,
            object_repr=f"抄表期校核 {period}" + (f" {org_unit.name}" if org_unit is not None else ""),
            after={
                "routes": outcome.routes,
                "reads": outcome.reads,
                "missing": outcome.missing,
                "raised": outcome.raised,
                "cleared": outcome.cleared,
                "reads_updated": outcome.reads_updated,
                "tasks_updated": outcome.tasks_updated,
            },
        )
        marks.append(time.perf_counter())
    outcome.seconds = {
        "load": marks[1] - marks[0],
        "engine": marks[2] - marks[1],
        "write": marks[3] - marks[2],
    }
    return outcome
