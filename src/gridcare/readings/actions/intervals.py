"""Interval data ingest (负荷曲线采集): one audited action for every batch of 15-minute reads, whether it comes
from the API (``POST /api/readings/intervals/``) or a file (``gridcare readings ingest``).

Meters are named by asset number and resolve through the caller's write scope exactly like register reads
(:func:`~gridcare.readings.actions.capture.capturable_meters`): unknown, outside the scope or not installed →
that record is rejected with the reason. The rest goes to the engine's store, which rejects bad values per
record (non-numeric, negative, future, off the 15-minute grid), drops harmless duplicates, reports conflicting
values without overwriting anything, and checks every meter-day (gaps, spikes …); the meter-day results land in
:class:`~gridcare.readings.models.IntervalDay` in bulk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.utils import timezone, translation

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput
from gridcare.engine.interval_store import IngestResult, IntervalError, IntervalStore
from gridcare.engine.money import QTY_DEC, scaled_to_decimal
from gridcare.metering.models import Meter
from gridcare.org.models import User
from gridcare.readings.actions.capture import capturable_meters
from gridcare.readings.models import IntervalDay
from gridcare.readings.store import interval_conf, store_writer

#: where a batch came from (the audit row says it in words)
SOURCES = {"api": "采集系统接口", "file": "文件导入", "demo": "演示数据"}
UNKNOWN_METER = "未知电能表「{number}」。 (Unknown meter, or outside your scope.)"
NOT_INSTALLED = "电能表 {number} 未在运行。 (The meter is not installed.)"
_COUNTERS = ("conflicts", "rejected", "spikes")
_WRITE_BATCH = 5000


@dataclass
class IntervalBatch:
    """What one batch did: rows ``written``, harmless ``duplicates``, per-record ``rejected`` (``row`` = position
    in the batch, ``meter`` asset number, ``ts``, ``reason``), ``conflicts`` and the ``days`` checked."""

    records: int
    written: int
    duplicates: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "records": self.records,
            "written": self.written,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "conflicts": len(self.conflicts),
            "meter_days": len(self.days),
            "meter_days_with_problems": sum(1 for d in self.days if _problem(d)),
        }


def _problem(day: dict[str, Any]) -> bool:
    return bool(day["gaps"] or day["conflicts"] or day["rejected"] or day["spikes"])


def _resolve(actor: User, numbers: pl.Series) -> tuple[dict[str, Meter], dict[str, str]]:
    """Asset number → meter for those the actor may capture for and that are installed; the others → reason."""
    wanted = {str(n).strip() for n in numbers.unique().to_list() if n is not None} - {""}
    meters = {
        m.asset_no: m for m in Meter.objects.filter(asset_no__in=wanted).select_related("service_point")
    }
    allowed = capturable_meters(actor, [m.pk for m in meters.values()])
    good: dict[str, Meter] = {}
    refused: dict[str, str] = {}
    for number in wanted:
        meter = meters.get(number)
        if meter is None or meter.pk not in allowed:
            refused[number] = UNKNOWN_METER.format(number=number)
        elif meter.status != Meter.Status.INSTALLED or meter.service_point is None:
            refused[number] = NOT_INSTALLED.format(number=number)
        else:
            good[number] = meter
    return good, refused


def _local(ts: Any) -> str:
    return timezone.localtime(ts).isoformat() if isinstance(ts, dt.datetime) else ""


@action("readings.ingest_intervals", permission="reading.enter")
def do_ingest_intervals(
    actor: User, frame: pl.DataFrame, *, source: str, name: str = "", now: dt.datetime | None = None
) -> IntervalBatch:
    """负荷曲线采集 — check a batch of interval reads (columns ``meter`` asset number, ``ts``, ``kwh`` and the
    optional ``kw``, ``kvarh``), append the good ones to the store and record the meter-day checks. One audit
    row per batch."""
    if source not in SOURCES:
        raise InvalidInput({"source": f"未知的数据来源「{source}」。 (Unknown source.)"})
    missing = [c for c in ("meter", "ts", "kwh") if c not in frame.columns]
    if missing:
        raise InvalidInput({"columns": f"缺少列 {', '.join(missing)}。 (Columns missing: meter, ts, kwh.)"})
    numbers = frame.get_column("meter").cast(pl.String).str.strip_chars()
    good, refused = _resolve(actor, numbers)
    frame = frame.with_columns(numbers.alias("meter")).with_row_index("row")
    known = frame.get_column("meter").is_in(list(good))
    rejected = [
        {
            "row": int(r["row"]),
            "meter": r["meter"] or "",
            "ts": str(r["ts"] or ""),
            "reason": _refusal(r, refused),
        }
        for r in frame.filter(~known).select("row", "meter", "ts").iter_rows(named=True)
    ]
    accepted = frame.filter(known)
    rows = accepted.get_column("row")
    ids = {number: meter.pk for number, meter in good.items()}
    batch = accepted.with_columns(pl.col("meter").replace_strict(ids, return_dtype=pl.Int64)).drop("row")
    batch = batch.select([c for c in batch.columns if c in ("meter", "ts", "kwh", "kw", "kvarh")])
    try:
        with store_writer() as store:
            result = store.ingest(
                batch,
                now=now or timezone.now(),
                spike_factor=int(interval_conf("SPIKE_FACTOR")),
                spike_percentile=int(interval_conf("SPIKE_PERCENTILE")),
                spike_floor_kwh=int(interval_conf("SPIKE_FLOOR_KWH")),
                capacity_kva={
                    m.pk: int(m.service_point.capacity_kva)
                    for m in good.values()
                    if m.service_point is not None and m.service_point.capacity_kva > 0
                },
            )
            days = _record_days(store, result, good)
    except IntervalError as exc:
        raise InvalidInput({"records": str(exc)}) from None
    numbers_by_id = {meter.pk: number for number, meter in good.items()}
    rejected += [
        {
            "row": int(rows[int(r["row"])]),
            "meter": numbers_by_id.get(r["meter"], ""),
            "ts": _local(r["ts"]),
            "reason": r["reason"],
        }
        for r in result.rejected.iter_rows(named=True)
    ]
    rejected.sort(key=lambda r: r["row"])
    outcome = IntervalBatch(
        records=frame.height,
        written=result.written,
        duplicates=result.duplicates,
        rejected=rejected,
        conflicts=[
            {
                "meter": numbers_by_id.get(c["meter"], ""),
                "ts": _local(c["ts"]),
                "kwh": str(scaled_to_decimal(c["kwh"], QTY_DEC)),
                "other_kwh": str(scaled_to_decimal(c["other_kwh"], QTY_DEC)),
            }
            for c in result.conflicts.iter_rows(named=True)
        ],
        days=[{**d, "meter": numbers_by_id.get(d["meter"], "")} for d in days],
    )
    with translation.override("zh-hans"):
        label = SOURCES[source] + (f"「{name}」" if name else "")
    audit.record(
        actor,
        "readings.ingest_intervals",
        object_type="readings.intervalday",  # the checks table the batch wrote; counts in words: its audit_labels
        object_id=source,
        object_repr=f"负荷曲线数据（{label}）",
        after=outcome.counts(),
    )
    return outcome


def _refusal(row: dict[str, Any], refused: dict[str, str]) -> str:
    number = row["meter"] or ""
    return refused.get(number) or "缺少电能表资产号。 (The meter asset number is missing.)"


def _with_silent_days(checks: pl.DataFrame) -> pl.DataFrame:
    """The engine's checks plus a row for each day inside a meter's span in the batch on which nothing arrived
    (a concentrator offline for a day): received 0, every interval a gap — so the day is a problem to follow
    up, not just a dent in the collection rate."""
    if checks.height == 0:
        return checks
    spans = checks.group_by("meter").agg(pl.col("day").min().alias("lo"), pl.col("day").max().alias("hi"))
    every = spans.select("meter", pl.date_ranges("lo", "hi").alias("day")).explode("day")
    silent = every.join(checks.select("meter", "day"), on=["meter", "day"], how="anti")
    if silent.height == 0:
        return checks
    expected = int(checks.get_column("expected").max() or 0)  # type: ignore[arg-type]
    filler = silent.with_columns(
        received=pl.lit(0, pl.Int64),
        expected=pl.lit(expected, pl.Int64),
        gaps=pl.lit(expected, pl.Int64),
        conflicts=pl.lit(0, pl.Int64),
        rejected=pl.lit(0, pl.Int64),
        spikes=pl.lit(0, pl.Int64),
        collection_rate=pl.lit(0.0),
    )
    return pl.concat([checks, filler.select(checks.columns).cast(checks.schema)]).sort("meter", "day")


def _record_days(
    store: IntervalStore, result: IngestResult, meters: dict[str, Meter]
) -> list[dict[str, Any]]:
    """Write the batch's meter-day checks: ``received`` recounted from the store (distinct intervals, so a
    retried batch counts right), the problem counters added to those of the day's earlier batches."""
    checks = _with_silent_days(result.checks)
    if checks.height == 0:
        return []
    points = {m.pk: int(m.service_point_id or 0) for m in meters.values()}  # installed: never 0
    first, last = checks.get_column("day").min(), checks.get_column("day").max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    touched = sorted(set(checks.get_column("meter").to_list()))
    received = {
        (r["meter"], r["day"]): r["received"]
        for r in store.collection_rate(first, last, meters=touched)
        .select("meter", "day", "received")
        .iter_rows(named=True)
    }
    keys = {(r["meter"], r["day"]) for r in checks.select("meter", "day").iter_rows(named=True)}
    locked = IntervalDay.objects.select_for_update().filter(meter_id__in=touched, day__range=(first, last))
    stored = {(d.meter_id, d.day): d for d in locked.order_by("pk") if (d.meter_id, d.day) in keys}
    now = timezone.now()
    rows: list[IntervalDay] = []
    answer: list[dict[str, Any]] = []
    for check in checks.iter_rows(named=True):
        key = (check["meter"], check["day"])
        before = stored.get(key)
        day = IntervalDay(
            meter_id=check["meter"],
            service_point_id=points[check["meter"]],
            day=check["day"],
            expected=check["expected"],
            received=received.get(key, 0),
            updated_at=now,
            **{c: check[c] + (getattr(before, c) if before else 0) for c in _COUNTERS},
        )
        day.gaps = max(day.expected - day.received, 0)
        rows.append(day)
        answer.append(
            {
                "meter": check["meter"],
                "day": check["day"].isoformat(),
                "expected": day.expected,
                "received": day.received,
                "gaps": day.gaps,
                "conflicts": check["conflicts"],
                "rejected": check["rejected"],
                "spikes": check["spikes"],
                "collection_rate": str(day.collection_rate),
            }
        )
    IntervalDay.objects.bulk_create(
        rows,
        batch_size=_WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["meter", "day"],
        update_fields=["service_point", "expected", "received", "gaps", *_COUNTERS, "updated_at"],
    )
    return answer
