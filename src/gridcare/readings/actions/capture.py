"""The one capture path (抄表数据采集): the reader's screen, the file import and the head-end API all hand their
records to :func:`capture_reads`.

Per record, bad input is rejected with its reason (unknown or removed meter, a register the meter lacks, a
future time, a value that is not a number, negative or wider than the register). A replay of the same
(meter, register, read time, source) with the same value is a harmless duplicate; with another value it is a
conflict for review, never an overwrite. Accepted reads get their consumption and VEE from the engine in one
batch (:func:`~gridcare.readings.actions.validation.assess`) before they are inserted, exceptions are written in bulk, and meter conditions that need field work raise
a service work order.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from gridcare.core import audit
from gridcare.core.access import SCOPE_COMPANY, restrict, scope_for
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput
from gridcare.core.rows import TableRef
from gridcare.metering.models import Meter
from gridcare.org.models import User
from gridcare.readings import bulk
from gridcare.readings.actions.validation import NewException, NewRead, assess, insert_exceptions, move_tasks
from gridcare.readings.models import Condition, MeterRead, ReadException, ReadingTask, Route
from gridcare.readings.periods import period_of

MAX_BATCH = 5000
#: a clock a little ahead of ours is not a read from the future
CLOCK_TOLERANCE = dt.timedelta(minutes=5)
#: meter conditions that need field work: they raise a meter-fault service order (计量故障)
FIELD_WORK = frozenset(
    {Condition.STOPPED, Condition.REVERSE, Condition.BURNT, Condition.SEAL, Condition.FAULT}
)
CONDITION_NAMES: dict[str, str] = {
    **{value: value for value in Condition.values},
    "正常": Condition.NORMAL,
    "停走": Condition.STOPPED,
    "倒走": Condition.REVERSE,
    "烧表": Condition.BURNT,
    "封印异常": Condition.SEAL,
    "门闭无法抄表": Condition.NO_ACCESS,
    "表计故障": Condition.FAULT,
}
CONFLICT_RULE = "conflicting_replay"

ACCEPTED = "accepted"
RECEIVED = "received"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
REJECTED = "rejected"
NO_ACCESS = "no_access"
DUPLICATE_REASON = "重复上送，已忽略。 (Already received.)"


@dataclass
class RecordResult:
    """What happened to one record of a batch (``index`` = its position in the batch)."""

    index: int
    status: str
    reason: str = ""
    read: int | None = None
    exceptions: list[str] = field(default_factory=list)
    receipt: int | None = None  # the head-end receipt (HeadEndRead) that holds the record until it is settled

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "reason": self.reason,
            "read": self.read,
            "exceptions": self.exceptions,
            "receipt": self.receipt,
        }

    def as_stored_dict(self) -> dict[str, Any]:
        """:meth:`as_dict` in an idempotency record's stored form (plain values, keys in ``jsonb`` order: shorter
        first, then by their bytes — ``api.base.jsonb_key_order``), so the API stores and answers it as it is."""
        return {
            "read": self.read,
            "index": self.index,
            "reason": str(self.reason),
            "status": str(self.status),
            "receipt": self.receipt,
            "exceptions": [str(e) for e in self.exceptions],
        }


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """What the capture path needs of a meter, read as plain values (no model instance)."""

    pk: int
    asset_no: str
    status: str
    registers: tuple[str, ...]
    register_digits: int
    multiplier: int
    installed_on: dt.date | None
    service_point_id: int | None

    @classmethod
    def of(cls, meter: Meter) -> MeterInfo:
        return cls(
            meter.pk,
            meter.asset_no,
            meter.status,
            tuple(meter.registers or ()),
            meter.register_digits,
            meter.multiplier,
            meter.installed_on,
            meter.service_point_id,
        )


@dataclass(frozen=True, slots=True)
class TaskInfo:
    pk: int
    meter_id: int
    register: str
    period: str


@dataclass(slots=True)
class CleanRecord:
    index: int
    meter: MeterInfo
    register: str
    read_at: dt.datetime
    value: Decimal | None
    condition: str
    task: TaskInfo | None
    point: int = 0  # the service point the meter is installed at


# ---------------------------------------------------------------------------------------------- checks
def capturable_meters(actor: User, meter_ids: Iterable[int]) -> set[int]:
    """Meters the actor may read for: in their write scope, or installed on a route they hold."""
    ids = list(set(meter_ids))
    if (
        getattr(actor, "is_authenticated", False)
        and actor.is_active
        and scope_for(actor, Meter, write=True) == SCOPE_COMPANY
    ):
        return set(ids)  # the whole company (e.g. a head-end integration account): nothing to look up
    direct = restrict(Meter.objects.filter(pk__in=ids), actor, write=True).values_list("pk", flat=True)
    routes = restrict(Route.objects.all(), actor, write=True).values("pk")
    routed = Meter.objects.filter(pk__in=ids, service_point__route_stop__route__in=routes).values_list(
        "pk", flat=True
    )
    return set(direct) | set(routed)


def _meters(numbers: Iterable[str] = (), ids: Iterable[int] = ()) -> list[MeterInfo]:
    """Meters by asset number or id, in one query."""
    m = TableRef(Meter)
    by_number, number_params = bulk.in_list(m.asset_no, sorted(numbers), "text")
    by_id, id_params = bulk.in_list(m.id, sorted(ids), "int")
    rows = bulk.fetch(
        f"SELECT {m.id}, {m.asset_no}, {m.status}, {m.registers}, {m.register_digits}, {m.ct_ratio}, "
        f"{m.pt_ratio}, {m.installed_on}, {m.service_point_id} FROM {m} WHERE {by_number} OR {by_id}",
        [*number_params, *id_params],
    )
    parsed: dict[str, tuple[str, ...]] = {}  # most meters share their register list: parse each text once

    def registers_of(raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, str):
            return tuple(raw or ())
        found = parsed.get(raw)
        if found is None:
            found = parsed[raw] = tuple(json.loads(raw) or ())
        return found

    return [
        MeterInfo(
            pk,
            number,
            status,
            registers_of(registers),
            digits,
            ct * pt,
            dt.date.fromisoformat(installed) if isinstance(installed, str) else installed,
            point,
        )
        for pk, number, status, registers, digits, ct, pt, installed, point in rows
    ]


def _parse_time(raw: Any) -> dt.datetime | None:
    if isinstance(raw, dt.datetime):
        moment = raw
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                moment = parse_datetime(text)  # type: ignore[assignment]
            except ValueError:
                return None
            if moment is None:
                return None
    else:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@functools.lru_cache(maxsize=4096)
def _day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The first moment of ``day`` in ``zone`` (a read before it was taken before that day)."""
    return dt.datetime.combine(day, dt.time(), zone)


@functools.cache
def _register_limit(digits: int) -> Decimal:
    return Decimal(10) ** digits


_CENT = Decimal("0.01")


def parse_value(raw: Any, digits: int) -> tuple[Decimal | None, str]:
    if isinstance(raw, bool) or raw is None or raw == "":
        return None, "缺少示数。 (The read value is missing.)"
    text = str(raw).strip()
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None, f"示数「{raw}」不是数值。 (The read is not a number.)"
    if not value.is_finite():
        return None, f"示数「{raw}」不是数值。 (The read is not a number.)"
    if value < 0:
        return None, "示数不能为负。 (The read cannot be negative.)"
    if value >= _register_limit(digits):
        return None, f"示数超过计度器的 {digits} 位整数。 (More digits than the register has.)"
    if _decimal_places(text, value) > 2:
        return None, "示数最多两位小数。 (At most two decimals.)"
    return value.quantize(_CENT), ""


def _decimal_places(text: str, value: Decimal) -> int:
    """How many decimals ``value`` (parsed from ``text``) is written with: counted in the text when it is ASCII
    digits, one point, ASCII digits (the usual read: exactly minus the exponent, and cheaper than ``as_tuple``),
    else minus the exponent."""
    whole, _, decimals = text.rpartition(".")
    whole = whole.lstrip("+-")
    if whole.isascii() and whole.isdigit() and decimals.isascii() and decimals.isdigit():
        return len(decimals)
    return -int(value.as_tuple().exponent)


def check_records(
    actor: User, records: Sequence[Mapping[str, Any]], *, now: dt.datetime | None = None
) -> tuple[list[CleanRecord], list[RecordResult]]:
    """Validate every record without writing: the clean ones, and a rejection (with its reason) for the rest.
    Records name a meter by asset number (``meter``) and/or a reading task (``task``)."""
    now = now or timezone.now()
    shapes = [_shape_problem(r) for r in records]
    records = [r if not problem else {} for r, problem in zip(records, shapes, strict=True)]
    task_ids = {int(r["task"]) for r in records if str(r.get("task") or "").isdigit()}
    tasks = (
        {
            pk: TaskInfo(pk, meter, register, period)
            for pk, meter, register, period in restrict(
                ReadingTask.objects.filter(pk__in=task_ids), actor, write=True
            ).values_list("pk", "meter_id", "register", "period")
        }
        if task_ids
        else {}
    )
    numbers = {str(r.get("meter") or "").strip() for r in records} - {""}
    found = _meters(numbers, {t.meter_id for t in tasks.values()})
    meters = {m.asset_no: m for m in found}
    by_id = {m.pk: m for m in found}
    allowed = capturable_meters(actor, [m.pk for m in meters.values()])
    clean: list[CleanRecord] = []
    rejected: list[RecordResult] = []
    zone = timezone.get_current_timezone()
    latest = now + CLOCK_TOLERANCE
    times: dict[Any, dt.datetime | None] = {}  # a batch's records mostly share their read time: parse it once
    for index, record in enumerate(records):
        if shapes[index]:
            rejected.append(RecordResult(index, REJECTED, shapes[index]))
            continue
        problem, item = _check_one(index, record, tasks, meters, by_id, allowed, latest, zone, times)
        if item is not None:
            clean.append(item)
        else:
            rejected.append(RecordResult(index, REJECTED, problem))
    return clean, rejected


_SCALARS = (str, int, float, Decimal, dt.datetime)
_FIELDS = ("meter", "task", "register", "read_at", "value", "condition")
_INSTALLED = str(Meter.Status.INSTALLED.value)
_NORMAL = str(Condition.NORMAL.value)
_NO_ACCESS = str(Condition.NO_ACCESS.value)


_TEXT_OR_NONE = frozenset({str, type(None)})
_NO_READ_TIME = "read_at: 缺少抄表时间。 (The read time is missing.)"


def _shape_problem(record: Any) -> str:
    """What is wrong with a record's shape (not an object, a field of the wrong type, no read time), or ""."""
    if type(record) is dict and _TEXT_OR_NONE.issuperset(map(type, record.values())):
        return "" if record.get("read_at") else _NO_READ_TIME  # the usual record: text only, checked in C
    if not isinstance(record, Mapping):
        return "每条记录须为对象。 (Each record must be an object.)"
    problems = []
    for name in _FIELDS:
        value = record.get(name)
        if value is None or type(value) is str:  # the usual case first
            continue
        if isinstance(value, bool) or not isinstance(value, _SCALARS):
            problems.append(f"{name}: 须为文本或数值。 (must be text or a number.)")
    if record.get("read_at") in (None, ""):
        problems.append(_NO_READ_TIME)
    return "; ".join(problems)


def _check_one(
    index: int,
    record: Mapping[str, Any],
    tasks: dict[int, TaskInfo],
    meters: dict[str, MeterInfo],
    by_id: dict[int, MeterInfo],
    allowed: set[int],
    latest: dt.datetime,
    zone: dt.tzinfo,
    times: dict[Any, dt.datetime | None],
) -> tuple[str, CleanRecord | None]:
    task = None
    raw_task = record.get("task")
    if raw_task not in (None, ""):
        task = tasks.get(int(raw_task)) if str(raw_task).isdigit() else None
        if task is None:
            return (
                "未找到抄表任务或不在您的数据范围内。 (Reading task not found or outside your scope.)",
                None,
            )
    number = str(record.get("meter") or "").strip()
    meter = meters.get(number) if number else (by_id.get(task.meter_id) if task is not None else None)
    if meter is None or meter.pk not in allowed and task is None:
        return f"未知电能表「{number}」。 (Unknown meter, or outside your scope.)", None
    if task is not None and task.meter_id != meter.pk:
        return "电能表与抄表任务不符。 (The meter does not match the reading task.)", None
    if meter.status != _INSTALLED:
        return (
            f"电能表 {meter.asset_no} 未在运行（{Meter.Status(meter.status).label}）。 (The meter is not installed.)",
            None,
        )
    register = str(record.get("register") or (task.register if task is not None else "")).strip()
    if register not in (meter.registers or []):
        return f"电能表没有计度器「{register}」。 (The meter has no such register.)", None
    if task is not None and task.register != register:
        return "计度器与抄表任务不符。 (The register does not match the reading task.)", None
    condition = CONDITION_NAMES.get(str(record.get("condition") or _NORMAL).strip())
    if condition is None:
        return f"未知表况「{record.get('condition')}」。 (Unknown meter condition.)", None
    raw_time = record.get("read_at")
    try:
        read_at = times[raw_time]
    except KeyError:
        read_at = times[raw_time] = _parse_time(raw_time)
    except TypeError:  # not hashable: the shape check let it through only if it is a scalar
        read_at = _parse_time(raw_time)
    if read_at is None:
        return f"抄表时间「{raw_time}」无效。 (Invalid read time.)", None
    if read_at > latest:
        return "抄表时间晚于当前时间。 (The read time is in the future.)", None
    if meter.installed_on and read_at < _day_start(meter.installed_on, zone):
        return "抄表时间早于装表日期。 (Read before the meter was installed.)", None
    point = meter.service_point_id or 0  # an installed meter has its service point
    if condition == _NO_ACCESS and record.get("value") in (None, ""):
        return "", CleanRecord(index, meter, register, read_at, None, condition, task, point)
    value, problem = parse_value(record.get("value"), meter.register_digits)
    if value is None:
        return problem, None
    return "", CleanRecord(index, meter, register, read_at, value, condition, task, point)


# ---------------------------------------------------------------------------------------------- capture
@action("readings.capture", permission="reading.enter")
def capture_reads(actor: User, records: Sequence[Mapping[str, Any]], *, source: str) -> list[RecordResult]:
    """抄表数据采集 — validate, store and check a batch of register reads; one result per record.

    Audited once per batch (counts, source, first and last read id): the reads are themselves immutable records
    carrying who entered them (``entered_by``), the source and the moment (``created_at``)."""
    if source not in (MeterRead.Source.MANUAL, MeterRead.Source.IMPORT, MeterRead.Source.HEADEND):
        raise InvalidInput({"source": f"未知的数据来源「{source}」。 (Unknown source.)"})
    if len(records) > MAX_BATCH:
        raise InvalidInput({"records": f"每批最多 {MAX_BATCH} 条。 (At most {MAX_BATCH} records per batch.)"})
    results, reads = capture_batch(actor, records, source)
    counts = count_results(results)
    ids = [r.pk for r in reads if r.pk is not None]
    with translation.override("zh-hans"):  # the stored text reads like every other record's
        source_name = str(MeterRead.Source(source).label)
    audit.record(
        actor,
        "readings.capture",
        object_type="readings.batch",
        object_id=source,
        object_repr=f"抄表数据（{source_name}）",
        after={
            "records": len(records),
            **counts,
            "first_read": min(ids) if ids else None,
            "last_read": max(ids) if ids else None,
        },
    )
    return results


def count_results(results: Iterable[RecordResult]) -> dict[str, int]:
    """``records_<status>`` → count (keys in words on screens: gridcare.web.display.AUDIT_KEYS)."""
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[f"records_{result.status}"] += 1
    return dict(counts)


def capture_batch(
    actor: User, records: Sequence[Mapping[str, Any]], source: str
) -> tuple[list[RecordResult], list[NewRead]]:
    """The capture path itself, inside an action (its caller audits): checks, replays, consumption and VEE,
    the reads, exceptions, tasks and field work orders. Results in record order, and the reads stored."""
    clean, results = check_records(actor, records)
    no_access = [c for c in clean if c.value is None]
    results += [RecordResult(c.index, NO_ACCESS, str(Condition.NO_ACCESS.label)) for c in no_access]
    bulk.lock_meters([c.meter.pk for c in clean if c.value is not None])
    fresh, replays = split_replays([c for c in clean if c.value is not None])
    results += replays
    reads = store_reads(actor, fresh, source)
    results += [RecordResult(r.index, ACCEPTED, read=r.pk, exceptions=r.exceptions) for r in reads]
    _raise_field_orders(actor, [c for c in clean if c.condition in FIELD_WORK])
    return sorted(results, key=lambda r: r.index), reads


def _key(item: CleanRecord) -> tuple[int, str, dt.datetime]:
    return (item.meter.pk, item.register, item.read_at)


@dataclass(frozen=True, slots=True)
class _Known:
    """A read already stored under a batch record's key."""

    pk: int
    value: Decimal
    status: str
    task_id: int | None
    service_point_id: int
    period: str


def _known_reads(items: Sequence[CleanRecord]) -> dict[int, list[_Known]]:
    """Reads already stored under each item's (meter, register, read time), by the item's position — one query."""
    r = TableRef(MeterRead, "r")
    table, params = bulk.keys(
        "k",
        [("i", "int"), ("m", "int"), ("g", "text"), ("t", "time")],
        [(n, i.meter.pk, i.register, i.read_at) for n, i in enumerate(items)],
    )
    columns = f"{r.id}, {r.value}, {r.status}, {r.task_id}, {r.service_point_id}, {r.period}"
    match = f"{r.meter_id} = k.m AND {r.register} = k.g AND {r.read_at} = k.t"
    sql = (  # PostgreSQL: LATERAL … OFFSET 0, one index probe per key whatever the planner makes of the list
        f"SELECT k.i, {columns} FROM {table} CROSS JOIN LATERAL (SELECT {columns} FROM {r} WHERE {match} "
        f"OFFSET 0) AS r"
        if bulk.is_postgres()
        else f"SELECT k.i, {columns} FROM {table} JOIN {r} ON {match}"
    )
    rows = bulk.fetch(sql, params)
    known: dict[int, list[_Known]] = defaultdict(list)
    for n, pk, value, status, task, point, period in sorted(rows, key=lambda row: row[1]):
        known[int(n)].append(
            _Known(pk, Decimal(str(value)).quantize(Decimal("0.01")), status, task, point, period)
        )
    return known


def split_replays(items: list[CleanRecord]) -> tuple[list[CleanRecord], list[RecordResult]]:
    """New reads, and the results of replays: a key seen before (in the database or earlier in the batch)
    with the same value is a duplicate; with another value a conflict, queued as an exception."""
    if not items:
        return [], []
    existing = _known_reads(items)
    fresh: list[CleanRecord] = []
    results: list[RecordResult] = []
    conflicts: list[tuple[CleanRecord, _Known | None]] = []
    in_batch: dict[tuple[int, str, dt.datetime], CleanRecord] = {}
    for n, item in enumerate(items):
        known = existing.get(n, [])
        earlier = in_batch.get(_key(item))
        if any(r.value == item.value for r in known) or (earlier is not None and earlier.value == item.value):
            results.append(RecordResult(item.index, DUPLICATE, DUPLICATE_REASON))
        elif known or earlier is not None:
            live = next((r for r in known if r.status != MeterRead.Status.SUPERSEDED), None)
            conflicts.append((item, live))
        else:
            in_batch[_key(item)] = item
            fresh.append(item)
    results += _record_conflicts(conflicts)
    return fresh, results


def _record_conflicts(conflicts: list[tuple[CleanRecord, _Known | None]]) -> list[RecordResult]:
    """A different value for a key already received: the stored read is held and the new value queued."""
    if not conflicts:
        return []
    held = [read.pk for _, read in conflicts if read is not None]
    MeterRead.objects.filter(pk__in=held, status=MeterRead.Status.VALID).update(status=MeterRead.Status.HELD)
    ReadingTask.objects.filter(reads__pk__in=held).update(status=ReadingTask.Status.EXCEPTION)
    insert_exceptions(
        [
            NewException(
                read=None,
                read_id=read.pk if read is not None else None,
                task_id=read.task_id if read is not None else (item.task.pk if item.task else None),
                service_point_id=read.service_point_id if read is not None else item.point,
                period=read.period if read is not None else period_of(item.read_at),
                rule=CONFLICT_RULE,
                severity=ReadException.Severity.BLOCK,
                message=(
                    f"同一时刻重复上送不同示数：已有 {read.value if read else '—'}，新值 {item.value}。"
                    f" (A different value for a read already received: {read.value if read else '—'}"
                    f" vs {item.value}.)"
                ),
                proposed_value=item.value,
            )
            for item, read in conflicts
        ]
    )
    return [
        RecordResult(
            item.index,
            CONFLICT,
            "与已收示数不同，已转异常待审核。 (Differs from the read already received: queued for review.)",
            read=read.pk if read is not None else None,
            exceptions=[CONFLICT_RULE],
        )
        for item, read in conflicts
    ]


def _tasks_of(keys: Sequence[tuple[str, int, str]]) -> dict[tuple[str, int, str], int]:
    """The reading task of each (period, meter, register), one query."""
    t = TableRef(ReadingTask, "t")
    table, params = bulk.keys("k", [("p", "text"), ("m", "int"), ("g", "text")], keys)
    match = f"{t.period} = k.p AND {t.meter_id} = k.m AND {t.register} = k.g"
    sql = (  # PostgreSQL: LATERAL … LIMIT 1 (the key is unique), an index probe per key
        f"SELECT k.p, k.m, k.g, t.id FROM {table} CROSS JOIN LATERAL (SELECT {t.id} FROM {t} WHERE {match} "
        f"LIMIT 1) AS t"
        if bulk.is_postgres()
        else f"SELECT k.p, k.m, k.g, {t.id} FROM {table} JOIN {t} ON {match}"
    )
    rows = bulk.fetch(sql, params)
    return {(period, meter, register): pk for period, meter, register, pk in rows}


READ_FIELDS = [
    "id", "meter_id", "register", "read_at", "value", "source", "condition", "service_point_id", "period",
    "task_id", "multiplier", "quantity", "status", "supersedes_id", "entered_by_id", "approved_by_id",
    "created_at",
]  # fmt: skip


def store_reads(
    actor: User,
    items: Sequence[CleanRecord],
    source: str,
    *,
    supersedes: Mapping[int, int] | None = None,
) -> list[NewRead]:
    """Insert the reads (linked to their period's task and the meter's service point) with their consumption and
    VEE outcome, write their exceptions and move their tasks; answers the reads with their ids and rule codes.
    ``supersedes`` maps an item's index to the id of the read it replaces. Set-based: a few queries per batch,
    COPY on PostgreSQL."""
    if not items:
        return []
    zone = timezone.get_current_timezone()
    periods = [i.task.period if i.task else period_of(i.read_at, zone) for i in items]
    missing = [(p, i.meter.pk, i.register) for p, i in zip(periods, items, strict=True) if i.task is None]
    tasks = _tasks_of(missing) if missing else {}
    entered_by = actor.pk if actor.pk else None
    reads = []
    for item, period in zip(items, periods, strict=True):
        assert item.value is not None  # records without a value (门闭) are never stored
        reads.append(
            NewRead(
                index=item.index,
                meter_id=item.meter.pk,
                register=item.register,
                read_at=item.read_at,
                value=item.value,
                source=source,
                condition=item.condition,
                service_point_id=item.point,
                period=period,
                task_id=item.task.pk if item.task else tasks.get((period, item.meter.pk, item.register)),
                multiplier=item.meter.multiplier,
                digits=item.meter.register_digits,
                supersedes_id=(supersedes or {}).get(item.index),
                entered_by_id=entered_by,
            )
        )
    exceptions = assess(reads)
    _insert_reads(reads)
    insert_exceptions(exceptions)
    move_tasks(reads)
    return reads


def _insert_reads(reads: Sequence[NewRead]) -> None:
    """COPY with ids reserved from the sequence on PostgreSQL; ``bulk_create`` (ids returned) on SQLite."""
    now = timezone.now()
    if bulk.is_postgres():
        for read, pk in zip(reads, bulk.reserve_ids(MeterRead, len(reads)), strict=True):
            read.pk = pk
        bulk.copy_rows(
            MeterRead,
            READ_FIELDS,
            [
                (
                    r.pk, r.meter_id, r.register, r.read_at, r.value, r.source, r.condition, r.service_point_id,
                    r.period, r.task_id, r.multiplier, r.quantity, r.status, r.supersedes_id, r.entered_by_id,
                    None, now,
                )
                for r in reads
            ],
        )  # fmt: skip
        return
    made = MeterRead.objects.bulk_create(
        [
            MeterRead(
                meter_id=r.meter_id, register=r.register, read_at=r.read_at, value=r.value, source=r.source,
                condition=r.condition, service_point_id=r.service_point_id, period=r.period, task_id=r.task_id,
                multiplier=r.multiplier, quantity=r.quantity, status=r.status, supersedes_id=r.supersedes_id,
                entered_by_id=r.entered_by_id, created_at=now,
            )
            for r in reads
        ],
        batch_size=2000,
    )  # fmt: skip
    for read, row in zip(reads, made, strict=True):
        read.pk = row.pk


def _raise_field_orders(actor: User, items: Sequence[CleanRecord]) -> None:
    """One meter-fault work order (计量故障) per service point whose meter the reader found faulty."""
    if not items:
        return
    from gridcare.org.selectors import system_actor
    from gridcare.service.actions import do_create_order
    from gridcare.service.choices import Channel, OrderType, SubType

    by_point: dict[int, list[CleanRecord]] = defaultdict(list)
    for item in items:
        by_point[item.point].append(item)
    reporter = getattr(actor, "display_name", None) or actor.username
    for point, found in by_point.items():
        conditions = "、".join(sorted({str(Condition(i.condition).label) for i in found}))
        do_create_order(
            system_actor(),
            order_type=OrderType.APPLICATION,
            sub_type=SubType.METER_FAULT,
            channel=Channel.ONSITE,
            service_point=point,
            title=f"抄表发现表计异常：{conditions}"[:120],
            description=f"抄表员 {reporter} 在电能表 {found[0].meter.asset_no} 发现：{conditions}。",
        )
