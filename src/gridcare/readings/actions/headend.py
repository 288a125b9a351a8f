"""Head-end reads in two stages (采集接收 → 采集入库), as meter-data-management systems take them.

1. **Receipt**, in the request (:func:`receive_reads`): the capture path's per-record checks (one meter lookup per
   batch; a company-wide writer needs no route check), then the records go into the lean receipt table
   (:class:`~gridcare.readings.models.HeadEndRead`) with one ``INSERT … SELECT … ON CONFLICT DO NOTHING
   RETURNING`` and one query for the keys not inserted: the same value again is a ``duplicate``, another value a
   ``conflict`` (kept for review, never an overwrite). One answer per record, one audit row per batch.
2. **Settle**, after the batch commits (a Celery task; inline without a broker), on a periodic sweep and by
   ``gridcare readings settle`` (:func:`settle`): pending receipts are claimed in large chunks (``FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, so two copies share the work; one at a time under ``job_lock`` elsewhere) and go
   through THE capture path (:func:`~gridcare.readings.actions.capture.capture_batch`: consumption, VEE, tasks,
   exceptions, field work orders) with source ``headend`` as the account that sent them; each receipt keeps its
   outcome and the read it became.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridcare.core import audit
from gridcare.core.actions import action, after_commit, whole_transaction
from gridcare.core.errors import InvalidInput
from gridcare.core.locks import job_lock
from gridcare.core.rows import TableRef, column_of, database
from gridcare.org.models import User
from gridcare.readings import bulk
from gridcare.readings.actions.capture import (
    CONFLICT,
    CONFLICT_RULE,
    DUPLICATE,
    DUPLICATE_REASON,
    MAX_BATCH,
    NO_ACCESS,
    RECEIVED,
    REJECTED,
    CleanRecord,
    RecordResult,
    capture_batch,
    check_records,
    count_results,
    split_replays,
)
from gridcare.readings.conf import HEADEND_SETTLE_CHUNK
from gridcare.readings.models import Condition, HeadEndRead, MeterRead

SETTLE_JOB = "readings.settle"
_HEADEND = str(MeterRead.Source.HEADEND.value)
QUEUED_REASON = (
    "与已收示数不同，入库时转异常待审核。 (Differs from the read already received: queued for review when it is "
    "settled.)"
)
NOT_KEPT_REASON = (
    "此时刻已收到另一示数，入库时未被采用。 (Another value was received for this time and was not kept when "
    "settled.)"
)

Key = tuple[int, str, dt.datetime]


def _key(item: CleanRecord) -> Key:
    return (item.meter.pk, item.register, item.read_at)


def _moment(value: Any) -> dt.datetime:
    """A timestamp as the database returns it from raw SQL (SQLite: UTC text)."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        parsed = parse_datetime(str(value))
        assert parsed is not None, value
        moment = parsed
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------------------------------------- receipt
@action("readings.receive", permission="reading.enter")
def receive_reads(actor: User, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
    """采集接收 — check a head-end batch and keep its records for settlement; one result per record:
    ``received`` (with its receipt id), ``duplicate``, ``conflict``, ``rejected`` (with the reason) or
    ``no_access``. Audited once per batch; the settle job is started once the batch commits."""
    if len(records) > MAX_BATCH:
        raise InvalidInput({"records": f"每批最多 {MAX_BATCH} 条。 (At most {MAX_BATCH} records per batch.)"})
    clean, results = check_records(actor, records)
    results += [
        RecordResult(c.index, NO_ACCESS, str(Condition.NO_ACCESS.label)) for c in clean if c.value is None
    ]
    items = [c for c in clean if c.value is not None]
    inserted = _insert_receipts(actor, items) if items else {}
    replays: list[CleanRecord] = []
    for n, item in enumerate(items):
        pk = inserted.get(n)  # the first record of a key in the batch is the one inserted
        if pk is not None:
            results.append(RecordResult(item.index, RECEIVED, receipt=pk))
        else:
            replays.append(item)
    queued, replayed = _replays(replays)
    results += replayed
    receipts = [r.receipt for r in results if r.status == RECEIVED and r.receipt is not None]
    audit.record(
        actor,
        "readings.receive",
        object_type="readings.batch",
        object_id=_HEADEND,
        object_repr="采集接收",
        after={
            "records": len(records),
            **count_results(results),
            "first_receipt": min(receipts) if receipts else None,
            "last_receipt": max(receipts) if receipts else None,
        },
    )
    if receipts or queued:
        from gridcare.readings.tasks import schedule_settle

        after_commit(schedule_settle)
    return sorted(results, key=lambda r: r.index)


def _insert_receipts(actor: User, items: Sequence[CleanRecord]) -> dict[int, int]:
    """Insert the items' receipts, skipping keys already received (and a key's later records in the batch):
    item position → receipt id of each item inserted. One statement, rows in key order (two batches sharing keys
    wait for each other in the same order: no deadlock). PostgreSQL numbers every row from the table's sequence
    before the insert, so the positions inserted are those whose number comes back (a hashed look-up on one
    bigint: no join on the three key columns, no timestamps to parse and hash in Python); SQLite, which has no
    INSERT in a WITH, answers the keys inserted."""
    r = TableRef(HeadEndRead)
    rows = [(n, i.meter.pk, i.register, i.read_at, str(i.value), i.condition) for n, i in enumerate(items)]
    columns = (
        f"{r.meter_id}, {r.register}, {r.read_at}, {r.value}, {r.condition}, {r.received_by_id}, {r.received_at}, "
        f"{r.conflicts}, {r.outcome}, {r.reason}"
    )
    now = database().ops.adapt_datetimefield_value(timezone.now())
    key_columns = [("i", "int"), ("m", "int"), ("g", "text"), ("t", "time"), ("v", "text"), ("c", "text")]
    if bulk.is_postgres():
        table, params = bulk.keys("u", key_columns, rows)
        found = bulk.fetch(
            f"WITH k AS (SELECT nextval((SELECT pg_get_serial_sequence(%s, %s))::regclass) AS id, u.* "
            f"FROM {table}), added AS (INSERT INTO {r} ({r.id}, {columns}) "
            f"SELECT k.id, k.m, k.g, k.t, CAST(k.v AS numeric), k.c, %s, %s, CAST('[]' AS jsonb), '', '' FROM k "
            f"ORDER BY k.m, k.g, k.t, k.i ON CONFLICT ({r.meter_id}, {r.register}, {r.read_at}) DO NOTHING "
            f"RETURNING {r.id}) "
            f"SELECT k.i, k.id FROM k WHERE k.id IN (SELECT added.{r.id} FROM added)",
            [HeadEndRead._meta.db_table, column_of(HeadEndRead._meta.pk), *params, actor.pk, now],
        )
        return {int(n): pk for n, pk in found}
    table, params = bulk.keys("k", key_columns, rows)
    found = bulk.fetch(
        f"INSERT INTO {r} ({columns}) SELECT k.m, k.g, k.t, CAST(k.v AS numeric), k.c, %s, %s, '[]', '', '' "
        f"FROM {table} WHERE true ORDER BY k.i ON CONFLICT ({r.meter_id}, {r.register}, {r.read_at}) DO NOTHING "
        f"RETURNING {r.id}, {r.meter_id}, {r.register}, {r.read_at}",
        [actor.pk, now, *params],
    )
    first: dict[Key, int] = {}
    for n, item in enumerate(items):
        first.setdefault(_key(item), n)
    return {first[(meter, register, _moment(moment))]: pk for pk, meter, register, moment in found}


@dataclass(frozen=True, slots=True)
class _Receipt:
    pk: int
    value: Decimal
    settled: bool


def _received(items: Sequence[CleanRecord]) -> dict[int, _Receipt]:
    """The receipt already holding each item's key, by the item's position — one query."""
    r = TableRef(HeadEndRead, "r")
    table, params = bulk.keys(
        "k",
        [("i", "int"), ("m", "int"), ("g", "text"), ("t", "time")],
        [(n, i.meter.pk, i.register, i.read_at) for n, i in enumerate(items)],
    )
    rows = bulk.fetch(
        f"SELECT k.i, {r.id}, {r.value}, {r.settled_at} FROM {table} JOIN {r} ON {r.meter_id} = k.m "
        f"AND {r.register} = k.g AND {r.read_at} = k.t",
        params,
    )
    return {
        int(n): _Receipt(pk, Decimal(str(value)).quantize(Decimal("0.01")), settled is not None)
        for n, pk, value, settled in rows
    }


def _replays(items: Sequence[CleanRecord]) -> tuple[int, list[RecordResult]]:
    """Records whose key was received before: the same value is a duplicate; another value is a conflict —
    queued on the receipt while it waits (settled after it, as the capture path takes a conflicting replay),
    or, once it is settled, handed to the capture path now (the stored read is held, the value queued). The
    number queued, and the results."""
    if not items:
        return 0, []
    found = _received(items)
    results: list[RecordResult] = []
    waiting: dict[int, list[CleanRecord]] = defaultdict(list)
    settled: list[CleanRecord] = []
    for n, item in enumerate(items):
        receipt = found[n]
        if receipt.value == item.value:
            results.append(RecordResult(item.index, DUPLICATE, DUPLICATE_REASON, receipt=receipt.pk))
        elif receipt.settled:
            settled.append(item)
        else:
            waiting[receipt.pk].append(item)
    queued = 0
    if waiting:  # locked, then still pending? (a settle job holding them has committed by then)
        pending = dict(
            HeadEndRead.objects.select_for_update()
            .filter(pk__in=sorted(waiting), settled_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "conflicts")
        )
        changed = []
        for pk, conflicts in pending.items():
            values = [str(i.value) for i in waiting[pk]]
            changed.append(HeadEndRead(pk=pk, conflicts=[*(conflicts or []), *values]))
            results += [
                RecordResult(i.index, CONFLICT, QUEUED_REASON, exceptions=[CONFLICT_RULE], receipt=pk)
                for i in waiting[pk]
            ]
            queued += len(values)
        HeadEndRead.objects.bulk_update(changed, ["conflicts"])
        settled += [i for pk, group in waiting.items() if pk not in pending for i in group]
    if settled:
        bulk.lock_meters([i.meter.pk for i in settled])
        fresh, replayed = split_replays(settled)
        results += replayed
        results += [RecordResult(i.index, REJECTED, NOT_KEPT_REASON) for i in fresh]
    return queued, results


# ---------------------------------------------------------------------------------------------- settle
@dataclass(frozen=True, slots=True)
class Claimed:
    """A pending receipt as the settle job claims it."""

    pk: int
    meter: str
    register: str
    read_at: dt.datetime
    value: Decimal
    condition: str
    received_by: int
    conflicts: tuple[str, ...]

    def record(self, value: Any = None) -> dict[str, Any]:
        return {
            "meter": self.meter,
            "register": self.register,
            "read_at": self.read_at,
            "value": self.value if value is None else value,
            "condition": self.condition,
        }


@dataclass
class SettleOutcome:
    receipts: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)


def settle(*, chunk: int | None = None, max_chunks: int | None = None) -> list[SettleOutcome]:
    """采集入库 — settle every pending receipt, a chunk per transaction, until none is left (or ``max_chunks``).

    PostgreSQL: chunks are claimed with ``FOR UPDATE SKIP LOCKED``, so copies running at once share the work and
    each receipt is settled once. Elsewhere the job holds ``job_lock`` (a second copy raises ``JobBusy``)."""
    from gridcare.org.selectors import system_actor

    size = int(chunk or HEADEND_SETTLE_CHUNK)
    actor = system_actor()
    done: list[SettleOutcome] = []
    guard: AbstractContextManager[None] = nullcontext() if bulk.is_postgres() else job_lock(SETTLE_JOB)
    with guard:
        while max_chunks is None or len(done) < max_chunks:
            with whole_transaction():
                claimed = claim(size)
                if not claimed:
                    break
                done.append(settle_receipts(actor, claimed))
    return done


def claim(size: int) -> list[Claimed]:
    """Up to ``size`` pending receipts, oldest first, locked for this transaction (others skip them)."""
    rows = (
        HeadEndRead.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(settled_at__isnull=True)
        .order_by("pk")
        .values_list(
            "pk",
            "meter__asset_no",
            "register",
            "read_at",
            "value",
            "condition",
            "received_by_id",
            "conflicts",
        )[:size]
    )
    return [
        Claimed(pk, meter, register, read_at, value, condition, by, tuple(conflicts or ()))
        for pk, meter, register, read_at, value, condition, by, conflicts in rows
    ]


@action("readings.settle", permission=None)
def settle_receipts(actor: User, claimed: Sequence[Claimed]) -> SettleOutcome:
    """Hand claimed receipts to the capture path as the accounts that sent them (source ``headend``): a
    register's reads in the order received (one capture round per position, so each read's previous read is the
    one before it), then the conflicting values queued on them. Each receipt keeps its outcome, reason and read;
    one audit row per chunk."""
    senders = User.objects.select_related("position", "org_unit").in_bulk({c.received_by for c in claimed})
    outcome: dict[int, RecordResult] = {}
    conflict_results: list[RecordResult] = []
    by_sender: dict[int, list[Claimed]] = defaultdict(list)
    for item in claimed:
        by_sender[item.received_by].append(item)
    for sender_id, items in by_sender.items():
        sender = senders.get(sender_id)
        rounds: list[list[Claimed]] = []
        seen: dict[tuple[str, str], int] = defaultdict(int)
        for item in items:  # oldest first
            rank = seen[(item.meter, item.register)]
            seen[(item.meter, item.register)] += 1
            if rank == len(rounds):
                rounds.append([])
            rounds[rank].append(item)
        for group in rounds:
            if sender is None:
                for item in group:
                    outcome[item.pk] = RecordResult(
                        0, REJECTED, "发送账号不存在。 (The sending account is gone.)"
                    )
                continue
            results, _ = capture_batch(sender, [c.record() for c in group], _HEADEND)
            for result in results:
                outcome[group[result.index].pk] = result
        replays = [c.record(value) for c in items for value in c.conflicts]
        if replays and sender is not None:
            conflict_results += capture_batch(sender, replays, _HEADEND)[0]
    _mark_settled(
        [(pk, result.status, result.reason[:300], result.read) for pk, result in sorted(outcome.items())]
    )
    settled = SettleOutcome(
        receipts=len(claimed),
        counts=count_results(outcome.values()),
        conflicts={
            k.replace("records_", "conflicts_"): v for k, v in count_results(conflict_results).items()
        },
    )
    audit.record(
        actor,
        "readings.settle",
        object_type="readings.batch",
        object_id=_HEADEND,
        object_repr="采集入库",
        after={
            "receipts": settled.receipts,
            **settled.counts,
            **settled.conflicts,
            "first_receipt": claimed[0].pk,
            "last_receipt": claimed[-1].pk,
        },
    )
    return settled


def _mark_settled(rows: Sequence[tuple[int, str, str, int | None]]) -> None:
    """Each receipt's outcome, reason and read, and the moment — one statement."""
    r = TableRef(HeadEndRead)
    table, params = bulk.keys("k", [("i", "int"), ("o", "text"), ("w", "text"), ("s", "int")], rows)
    bulk.execute(
        f"UPDATE {r} SET {r.settled_at} = %s, {r.outcome} = k.o, {r.reason} = k.w, {r.settled_read_id} = k.s "
        f"FROM {table} WHERE {r.id} = k.i",
        [database().ops.adapt_datetimefield_value(timezone.now()), *params],
    )
