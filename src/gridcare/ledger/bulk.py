"""批量入账 — many channel payments posted set-based: a day's batch-debit file (代扣文件) or the missing payments of a
reconciled file (批量补记); a million rows in chunks, each its own transaction, on two connections at once
(:func:`post_chunked`).

The allocation of :func:`gridcare.ledger.posting.match` computed for all accounts at once over Polars columns, in
integer fen: each account's open debits in allocation order (``ALLOCATION_ORDER``) laid end to end, each payment
of the account (in the batch's order) covering the next stretch of them; a payment's part beyond what is owed is
its prepayment. A debit and a payment overlap where their stretches meet — the allocation rows are those overlaps,
exactly what ``posting.match`` gives one payment after another (``tests/ledger/test_bulk_posting.py`` compares
both on a random ledger).

On PostgreSQL the accounts of the batch go into a temporary table (COPY) that every query joins, their rows are
locked in id order, the receipt numbers and the payments' and entries' ids are drawn from their sequences in one
statement each, and payments, entries and allocations are written with COPY, with one audit row for the batch;
SQLite (the demo) runs the same queries and plain bulk inserts. The hooks of a single payment — the late fee
posted at payment, the reconnection of a disconnected account (缴费复电) and of a prepaid account cut off at zero
(费控复电) — run on the accounts that need them, found by one query each."""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import connection, connections, models, transaction
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.frames import query_frame, scaled, scaled_sql, scaled_text
from gridcare.core.numbering import draw_numbers, reserve_numbers
from gridcare.core.rows import TableRef, column_of, fetch_all, insert_rows
from gridcare.customers.models import Account
from gridcare.ledger import latefees
from gridcare.ledger.conf import conf, late_fee_posting
from gridcare.ledger.models import Allocation, Channel, Entry, Method, Payment
from gridcare.org.models import User

#: the temporary table of the batch's account ids
BATCH = "_ledger_batch_account"


@dataclass
class Posted:
    """What a bulk posting wrote: the payments (``transaction``, ``payment`` id, ``account`` id, ``fen``, receipt
    ``number``, the fen ``applied`` to debts and ``prepaid``), the count of entries and allocations, the moment."""

    payments: pl.DataFrame
    entries: int
    allocations: int
    at: dt.datetime | None = None

    @property
    def count(self) -> int:
        return self.payments.height

    @property
    def fen(self) -> int:
        return int(self.payments.get_column("fen").sum() or 0) if self.payments.height else 0


# --- the batch's accounts -----------------------------------------------------------------------------------


#: a batch up to this size names its accounts in an array parameter (a channel API group): planned as a few index
#: lookups, where a temporary table without statistics would be planned as scans of the whole ledger
SMALL_BATCH = 1000


@dataclass(frozen=True)
class _Batch:
    """The batch's accounts as the queries name them: ``IN (SELECT id FROM <temporary table>)``, or on PostgreSQL
    for a small batch ``= ANY(<array>)``."""

    ids: list[int] | None

    @property
    def member(self) -> str:
        return "= ANY(%s)" if self.ids is not None else f'IN (SELECT id FROM "{BATCH}")'

    @property
    def params(self) -> list[Any]:
        return [self.ids] if self.ids is not None else []


def _fill_batch(account_ids: pl.Series) -> _Batch:
    """The batch's accounts: a small batch on PostgreSQL as an array, else a temporary table (emptied first: a
    second batch in the same transaction; analysed, so the planner knows its size)."""
    ids = account_ids.unique().sort()
    if connection.vendor == "postgresql" and ids.len() <= SMALL_BATCH:
        return _Batch(ids.to_list())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f'CREATE TEMPORARY TABLE IF NOT EXISTS "{BATCH}" (id bigint PRIMARY KEY) ON COMMIT DROP'
            )
            cursor.execute(f'TRUNCATE "{BATCH}"')
            buffer = io.BytesIO()
            ids.to_frame().write_csv(buffer, include_header=False)
            with cursor.cursor.copy(f'COPY "{BATCH}" (id) FROM STDIN (FORMAT csv)') as copy:
                copy.write(buffer.getvalue())
            cursor.execute(f'ANALYZE "{BATCH}"')
        else:
            cursor.execute(f'CREATE TEMPORARY TABLE IF NOT EXISTS "{BATCH}" (id integer PRIMARY KEY)')
            cursor.execute(f'DELETE FROM "{BATCH}"')
            cursor.executemany(f'INSERT INTO "{BATCH}" (id) VALUES (%s)', [(int(i),) for i in ids])
    return _Batch(None)


def _lock_batch(batch: _Batch) -> None:
    """Row locks on the batch's accounts in id order (as :func:`posting.lock_accounts`: no deadlock with a single
    payment or another batch); SQLite locks the whole database at the first write."""
    if connection.vendor != "postgresql":
        return
    a = TableRef(Account, "a")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT {a.id} FROM {a} WHERE {a.id} {batch.member} "
            f"ORDER BY {a.id} FOR UPDATE OF a) locked",
            batch.params,
        )


def _hold_named(channel: Channel, users: list[User]) -> None:
    """The channel's and the users' rows held (FOR KEY SHARE) until the batch commits: the ledger names them
    without a per-row check (``models.UNCHECKED_REFERENCES``) and a delete waiting on this lock finds the batch's
    rows when it runs (ledger 0009's guard) — what the per-row checks did a million times, once."""
    if connection.vendor != "postgresql":
        return
    c, u = TableRef(Channel, "c"), TableRef(User, "u")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {c} WHERE {c.id} = %s FOR KEY SHARE", [channel.pk])
        cursor.execute(
            f"SELECT 1 FROM {u} WHERE {u.id} IN ({', '.join(['%s'] * len(users))}) FOR KEY SHARE",
            [user.pk for user in users],
        )


def _needing_hooks(batch: _Batch, day: dt.date) -> tuple[list[int], list[int], list[int]]:
    """The batch's accounts with a late fee to post at payment, at their disconnection (dunning), cut off (费控):
    the three flags of a single payment's checks (``ledger.actions._payment_checks``), for the whole batch in one
    query (a small batch's a prepared statement)."""
    late_fees = "payment" in late_fee_posting()
    grace = dt.timedelta(days=int(conf("LATE_FEE_GRACE_DAYS")))
    params = [day - grace, *_hook_constants(), *batch.params]
    sql = _hooks_sql(batch.member, late_fees)
    if batch.ids is not None and connection.vendor == "postgresql":
        rows = fetch_all(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    return (
        [a for a, overdue, _, _ in rows if overdue],
        [a for a, _, disconnected, _ in rows if disconnected],
        [a for a, _, _, cut_off in rows if cut_off],
    )


def _hook_constants() -> list[Any]:
    """The statement's constant parameters: an open dunning case at its disconnection, an active agreement
    switched off."""
    from gridcare.engine import dunning as ladder
    from gridcare.ledger.models import DunningCase

    return [DunningCase.Status.OPEN.value, int(ladder.DISCONNECT), True, True]


@functools.cache
def _hooks_sql(member: str, late_fees: bool) -> str:
    from gridcare.ledger.models import DunningCase
    from gridcare.ledger.prepaid_models import PrepaidAgreement

    a, e, x, k = TableRef(Account, "a"), TableRef(Entry, "e"), TableRef(Allocation, "x"), TableRef(Entry, "k")
    c, g = TableRef(DunningCase, "c"), TableRef(PrepaidAgreement, "g")
    kinds = ", ".join(f"'{kind.value}'" for kind in latefees.BILL_KINDS)
    settled = f"COALESCE((SELECT SUM({x.amount}) FROM {x} WHERE {x.debit_id} = {e.id}), 0)"
    settled_late = (
        f"EXISTS (SELECT 1 FROM {x} JOIN {k} ON {k.id} = {x.credit_id} WHERE {x.debit_id} = {e.id} "
        f"AND {k.day} > {e.due_date})"
    )
    overdue = (
        f"EXISTS (SELECT 1 FROM {e} WHERE {e.account_id} = {a.id} AND {e.kind} IN ({kinds}) AND {e.amount} > 0 "
        f"AND {e.bill_id} IS NOT NULL AND {e.due_date} < %s AND ({e.amount} > {settled} OR {settled_late}))"
        if late_fees
        else "(%s::date IS NULL)"  # (the parameter kept: one parameter list for both forms)
    )
    return (
        f"SELECT id, overdue, disconnected, cut_off FROM (SELECT {a.id} AS id, {overdue} AS overdue, "
        f"EXISTS (SELECT 1 FROM {c} WHERE {c.account_id} = {a.id} AND {c.status} = %s AND {c.last_step} = %s) "
        f"AS disconnected, EXISTS (SELECT 1 FROM {g} WHERE {g.account_id} = {a.id} AND {g.active} = %s "
        f"AND {g.switched_off} = %s) AS cut_off FROM {a} WHERE {a.id} {member}) flags "
        f"WHERE overdue OR disconnected OR cut_off ORDER BY id"
    )


def open_debits_frame(batch: _Batch) -> pl.DataFrame:
    """The open debits of the batch's accounts in allocation order: ``account, debit, left`` (fen)."""
    e, x = TableRef(Entry, "e"), TableRef(Allocation, "x")
    kinds = ", ".join(
        f"'{kind.value}'" for kind in (Entry.Kind.CHARGE, Entry.Kind.CORRECTION, Entry.Kind.LATE_FEE)
    )
    sql = (
        f"SELECT {e.account_id}, {e.id}, {e.kind}, {e.due_date}, {scaled_sql(e.amount, 2)}, "
        f"COALESCE({scaled_sql('s.total', 2)}, 0) FROM {e} "
        f"LEFT JOIN (SELECT {x.debit_id} AS debit, SUM({x.amount}) AS total FROM {x} "
        f"WHERE {x.account_id} {batch.member} GROUP BY {x.debit_id}) s ON s.debit = {e.id} "
        f"WHERE {e.account_id} {batch.member} AND {e.kind} IN ({kinds}) AND {e.amount} > 0"
    )
    frame = query_frame(
        sql,
        [*batch.params, *batch.params],
        {
            "account": pl.Int64,
            "debit": pl.Int64,
            "kind": pl.String,
            "due": pl.Date,
            "amount": scaled(2),
            "done": scaled(2),
        },
    )
    return ranked(frame)


def ranked(frame: pl.DataFrame) -> pl.DataFrame:
    """Debits ``account, debit, kind, due, amount, done`` (fen) → ``account, debit, left`` of the open ones, in
    allocation order (:func:`posting.ranked`'s: the groups of ``ALLOCATION_ORDER``, then due date, id)."""
    order = list(conf("ALLOCATION_ORDER"))
    fees = order.index("late_fee") if "late_fee" in order else len(order)
    bills = order.index("oldest_bill") if "oldest_bill" in order else len(order)
    return (
        frame.with_columns(
            left=pl.col("amount") - pl.col("done"),
            group=pl.when(pl.col("kind") == Entry.Kind.LATE_FEE.value).then(fees).otherwise(bills),
        )
        .filter(pl.col("left") > 0)
        .sort(["account", "group", "due", "debit"])
        .select("account", "debit", "left")
    )


def allocate(payments: pl.DataFrame, debits: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``posting.match`` of every payment of the batch at once.

    ``payments``: ``seq, account, fen`` in posting order; ``debits``: ``account, debit, left`` in allocation order
    (:func:`open_debits_frame`). Returns the payments with ``applied`` (the part settling debts) and ``prepaid``
    (the rest), and the allocation rows ``seq, debit, fen`` (from the payment's settling entry)."""
    laid = debits.with_columns(end=pl.col("left").cum_sum().over("account")).with_columns(
        start=pl.col("end") - pl.col("left")
    )
    owed = laid.group_by("account").agg(owed=pl.col("left").sum())
    paid = (
        payments.sort("seq")
        .with_columns(c_end=pl.col("fen").cum_sum().over("account"))
        .with_columns(c_start=pl.col("c_end") - pl.col("fen"))
        .join(owed, on="account", how="left")
        .with_columns(pl.col("owed").fill_null(0))
        .with_columns(
            applied=pl.min_horizontal("c_end", "owed") - pl.min_horizontal("c_start", "owed"),
        )
        .with_columns(prepaid=pl.col("fen") - pl.col("applied"))
    )
    settling = paid.filter(pl.col("applied") > 0).select("seq", "account", "c_start", "c_end")
    rows = (
        settling.join(laid.select("account", "debit", "start", "end"), on="account", how="inner")
        .with_columns(
            fen=pl.min_horizontal("c_end", "end") - pl.max_horizontal("c_start", "start"),
        )
        .filter(pl.col("fen") > 0)
        .select("seq", "debit", "fen")
    )
    return paid.select("seq", "account", "fen", "applied", "prepaid"), rows


# --- writing ------------------------------------------------------------------------------------------------


def _new_ids(model: type[models.Model], count: int) -> pl.Series:
    """``count`` primary keys from the table's own sequence in one statement (PostgreSQL)."""
    table = model._meta.db_table
    column = column_of(model._meta.pk)
    return query_frame(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [table, column, count],
        {"id": pl.Int64},
    ).get_column("id")


def _write(model: type[models.Model], frame: pl.DataFrame, *, ids: bool) -> pl.Series | None:
    """Insert ``frame``'s rows (columns named by the fields' attnames) into the model's table: COPY on
    PostgreSQL, with ids drawn first if ``ids``; a plain bulk insert elsewhere (the ids come back). The ids in the
    frame's order, or None."""
    if frame.height == 0:
        return pl.Series("id", [], dtype=pl.Int64) if ids else None
    if connection.vendor == "postgresql":
        new = _new_ids(model, frame.height) if ids else None
        if new is not None:
            frame = frame.with_columns(new.alias("id"))
        fields = {f.attname: f for f in model._meta.concrete_fields}
        columns = ", ".join(f'"{column_of(fields[name])}"' for name in frame.columns)
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN (FORMAT csv)') as copy,
        ):
            buffer.seek(0)
            while chunk := buffer.read(1 << 22):
                copy.write(chunk)
        return new
    objects = [model(**row) for row in frame.iter_rows(named=True)]
    model._default_manager.bulk_create(objects, batch_size=2000)
    return pl.Series("id", [o.pk for o in objects], dtype=pl.Int64) if ids else None


def write_rows(model: type[models.Model], frame: pl.DataFrame) -> None:
    """Insert ``frame``'s rows (columns named by attnames, values as the database takes them in text): COPY on
    PostgreSQL, a plain bulk insert elsewhere."""
    _write(model, frame, ids=False)


def _receipts(day: dt.date, count: int) -> pl.Series:
    """``count`` receipt numbers of the day (``RECEIPT_PREFIX`` + date + the counter), reserved in one step."""
    from gridcare.ledger.actions import RECEIPTS

    prefix = f"{conf('RECEIPT_PREFIX')}{day:%Y%m%d}"
    width = int(conf("RECEIPT_WIDTH"))
    if count <= SMALL_BATCH:
        return pl.Series("number", draw_numbers(RECEIPTS, Payment, prefix, width, count), dtype=pl.String)
    if connection.vendor != "postgresql":
        return pl.Series("number", reserve_numbers(RECEIPTS, Payment, prefix, width, count), dtype=pl.String)
    reserve_numbers(RECEIPTS, Payment, prefix, width, 0)  # (the counter past numbers given by hand)
    values = query_frame(
        "SELECT nextval(%s) FROM generate_series(1, %s)", [RECEIPTS.sequence, count], {"v": pl.Int64}
    ).get_column("v")
    digits = values.sort().cast(pl.String).str.zfill(width)
    return digits.to_frame("d").select(pl.concat_str(pl.lit(prefix), pl.col("d")).alias("number")).to_series()


def _audit(actor: User, channel: Channel, day: dt.date, note: str, plan: pl.DataFrame) -> None:
    """One audit row for the batch (as the readings capture): its count, total, receipt and payment id ranges.
    Each payment is itself an immutable record carrying its channel, cashier, day, moment and note; a row per
    payment cost a million index insertions and actor checks for a file of a million (≈ 15 s)."""
    if plan.height == 0:
        return
    fen = int(plan.get_column("fen").sum() or 0)
    numbers, ids = plan.get_column("number").sort(), plan.get_column("payment").sort()
    first, last = str(numbers[0]), str(numbers[-1])
    audit.record(
        actor,
        "ledger.take_payments",
        object_type="ledger.payment_batch",
        object_id=f"{channel.code}:{day.isoformat()}:{first}",
        object_repr=f"{channel.name} {day.isoformat()} 批量入账 {plan.height} 笔"[:255],
        after={
            "channel": channel.code,
            "day": day,
            "payments": plan.height,
            "total": Decimal(fen) / 100,
            "first_receipt": first,
            "last_receipt": last,
            "first_payment": int(ids[0]),
            "last_payment": int(ids[-1]),
            "note": note,
        },
    )


#: a batch up to this size is written row by row (a channel API group): the frames' fixed cost — some fifty
#: Polars operations and COPYs, ≈ 15 ms a batch — is more than the rows themselves
ROW_BATCH = 200


def post_batch(
    actor: User,
    *,
    channel: Channel,
    cashier: User,
    day: dt.date,
    batch: pl.DataFrame,
    note: str = "",
    audit_batch: bool = True,
    accounts_locked: bool = False,
) -> Posted:
    """Post the ``batch`` (``transaction``, ``account`` id, ``fen`` > 0; checked by the caller: accounts in
    scope, transactions not yet posted) as ``channel``'s payments of ``day`` taken by ``cashier``, audited as
    ``actor``'s (one row for the batch; ``audit_batch=False``: the caller audits each payment). Locks the
    accounts (``accounts_locked``: the caller has); the late fees, allocations and reconnections as a single payment's. Up to :data:`ROW_BATCH`
    payments are written row by row (:func:`_write_rows`), more over columns (:func:`_write_frames`)."""
    now = timezone.now()
    accounts = _fill_batch(batch.get_column("account"))
    if not accounts_locked:  # (the caller locked them, in id order, before it read them)
        _lock_batch(accounts)
    _hold_named(channel, [cashier, actor])
    overdue, disconnected, cut_off = _needing_hooks(accounts, day)
    if overdue:
        latefees.post(actor, day, overdue)
    write = _write_rows if batch.height <= ROW_BATCH else _write_frames
    posted = write(_Posting(actor, channel, cashier, day, note[:200], now), batch, accounts)
    if disconnected:  # paid in full after a disconnection: 复电 within 24 h
        from gridcare.ledger.dunning import reconnect_paid

        reconnect_paid(actor, disconnected, now=now)
    if cut_off:  # 费控: a prepaid account cut off at zero is reconnected
        from gridcare.ledger.prepaid_actions import reconnect_after_payment

        reconnect_after_payment(actor, cut_off)
    if audit_batch:
        _audit(actor, channel, day, note, posted.payments)
    return posted


@dataclass(frozen=True)
class _Posting:
    """What every payment of a batch shares."""

    actor: User
    channel: Channel
    cashier: User
    day: dt.date
    note: str
    at: dt.datetime


def _posted(batch: pl.DataFrame, ids: Any, numbers: Any, applied: Any, prepaid: Any) -> pl.DataFrame:
    """:attr:`Posted.payments` of the batch."""
    return pl.DataFrame(
        {
            "transaction": batch.get_column("transaction"),
            "payment": ids,
            "account": batch.get_column("account"),
            "fen": batch.get_column("fen"),
            "number": numbers,
            "applied": applied,
            "prepaid": prepaid,
        },
        schema={
            "transaction": pl.String,
            "payment": pl.Int64,
            "account": pl.Int64,
            "fen": pl.Int64,
            "number": pl.String,
            "applied": pl.Int64,
            "prepaid": pl.Int64,
        },
    )


def _write_rows(posting: _Posting, batch: pl.DataFrame, accounts: _Batch) -> Posted:
    """A small batch: the open debits as a single payment reads them (:func:`posting.open_debits_of`), each
    payment allocated in the batch's order by :func:`posting.match`, and the rows inserted with one statement per
    table (the ids come back)."""
    from gridcare.ledger import posting as single

    rows = batch.select("transaction", "account", "fen").rows()
    debits = single.open_debits_of(sorted({account for _, account, _ in rows}))
    owed = {account: sum((d.left for d in items), Decimal(0)) for account, items in debits.items()}
    numbers = _receipts(posting.day, len(rows)).to_list()
    payments = insert_rows(
        [
            Payment(
                number=number,
                account_id=account,
                amount=Decimal(fen).scaleb(-2),
                method=Method.CHANNEL,
                channel=posting.channel,
                transaction_id=transaction,
                cashier=posting.cashier,
                day=posting.day,
                received_at=posting.at,
                note=posting.note,
            )
            for number, (transaction, account, fen) in zip(numbers, rows, strict=True)
        ]
    )
    parts: list[tuple[Decimal, Decimal]] = []  # (applied, prepaid) of each payment
    entries: list[Entry] = []
    for payment in payments:
        made = single.payment_entries(payment, posting.actor, owed.get(payment.account_id, Decimal(0)))
        applied = sum((-e.amount for e in made if e.kind == Entry.Kind.PAYMENT), Decimal(0))
        owed[payment.account_id] = owed.get(payment.account_id, Decimal(0)) - applied
        parts.append((applied, payment.amount - applied))
        entries += made
    insert_rows(entries)
    allocations: list[Allocation] = []
    for entry in entries:
        if entry.kind == Entry.Kind.PAYMENT:
            credit = single.Open(entry.pk, entry.kind, posting.day, -entry.amount, day=posting.day)
            open_now = [d for d in debits[entry.account_id] if d.left > 0]
            allocations += single.match(entry.account_id, [credit], open_now, entry.pk)
    insert_rows(allocations)
    fen = [[int(part.scaleb(2)) for part in pair] for pair in parts]
    return Posted(
        payments=_posted(batch, [p.pk for p in payments], numbers, [a for a, _ in fen], [p for _, p in fen]),
        entries=len(entries),
        allocations=len(allocations),
        at=posting.at,
    )


def _write_frames(posting: _Posting, batch: pl.DataFrame, accounts: _Batch) -> Posted:
    """A large batch over Polars columns: :func:`allocate`, ids from the sequences, COPY."""
    stamp = posting.at.isoformat()
    day = posting.day
    payments = batch.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    plan, rows = allocate(payments.select("seq", "account", "fen"), open_debits_frame(accounts))
    numbers = _receipts(day, payments.height)
    frame = pl.DataFrame(
        {
            "number": numbers,
            "account_id": payments.get_column("account"),
            "amount": payments.select(scaled_text("fen", 2)).to_series(),
            "method": pl.repeat(Method.CHANNEL.value, payments.height, eager=True),
            "channel_id": pl.repeat(posting.channel.pk, payments.height, eager=True, dtype=pl.Int64),
            "transaction_id": payments.get_column("transaction"),
            "cashier_id": pl.repeat(posting.cashier.pk, payments.height, eager=True, dtype=pl.Int64),
            "day": pl.repeat(day.isoformat(), payments.height, eager=True),
            "received_at": pl.repeat(stamp, payments.height, eager=True),
            "note": pl.repeat(posting.note, payments.height, eager=True, dtype=pl.String),
        }
    )
    ids = _write(Payment, frame, ids=True)
    assert ids is not None
    plan = plan.with_columns(payment=ids, number=numbers)
    entry_rows = pl.concat(
        [
            plan.filter(pl.col("applied") > 0).select(
                "seq", "payment", "account", kind=pl.lit(Entry.Kind.PAYMENT.value), fen=-pl.col("applied")
            ),
            plan.filter(pl.col("prepaid") > 0).select(
                "seq", "payment", "account", kind=pl.lit(Entry.Kind.PREPAYMENT.value), fen=-pl.col("prepaid")
            ),
        ]
    )
    entry_ids = _write(
        Entry,
        entry_rows.select(
            account_id="account",
            kind="kind",
            amount=scaled_text("fen", 2),
            payment_id="payment",
            day=pl.lit(day.isoformat()),
            due_date=pl.lit(day.isoformat()),
            posted_at=pl.lit(stamp),
            posted_by_id=pl.lit(posting.actor.pk, dtype=pl.Int64),
            note=pl.lit("", dtype=pl.String),
        ),
        ids=True,
    )
    assert entry_ids is not None
    settling = (
        entry_rows.with_columns(entry=entry_ids)
        .filter(pl.col("kind") == Entry.Kind.PAYMENT.value)
        .select("seq", "entry", "account")
    )
    allocations = rows.join(settling, on="seq", how="inner").select(
        credit_id="entry",
        debit_id="debit",
        amount=scaled_text("fen", 2),
        cause_id="entry",
        account_id="account",
        credit_day=pl.lit(day.isoformat()),
    )
    _write(Allocation, allocations, ids=False)
    return Posted(
        payments=_posted(batch, ids, numbers, plan.get_column("applied"), plan.get_column("prepaid")),
        entries=entry_rows.height,
        allocations=allocations.height,
        at=posting.at,
    )


# --- a large batch in chunks --------------------------------------------------------------------------------


def chunks(batch: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    """The batch cut into chunks of about ``size`` payments (in account id order), every payment of an account in
    the same chunk and in the batch's order — each chunk can be posted alone and gives what the whole would."""
    if batch.height <= size:
        return [batch]
    per_account = (
        batch.group_by("account")
        .len()
        .sort("account")
        .with_columns(chunk=((pl.col("len").cum_sum() - pl.col("len")) // size).cast(pl.Int64))
        .select("account", "chunk")
    )
    keyed = batch.join(per_account, on="account", how="left", maintain_order="left")
    return [part.drop("chunk") for part in keyed.partition_by("chunk", maintain_order=True)]


def post_chunked(
    actor: User,
    *,
    channel: Channel,
    cashier: User,
    day: dt.date,
    batch: pl.DataFrame,
    note: str = "",
    then: Callable[[pl.DataFrame], Any] | None = None,
) -> Posted:
    """:func:`post_batch` of a large batch in chunks (``BULK_POST_CHUNK``), ``then(chunk)`` run after each in the
    same transaction, the chunk's rows with their ``payment`` ids. On PostgreSQL, with more than one chunk, each
    chunk is its own transaction on one of ``BULK_POST_WORKERS`` connections working at once (the posting is the
    database's row work: one backend uses one core) — a failure leaves the chunks committed before it, each whole
    and consistent, and a re-run posts the rest. Those connections see committed rows only: what the batch names
    (accounts, a file's differences) must be committed before, as an import is its own action. Elsewhere, and
    for one chunk, the chunks run one after the other in the caller's transaction."""
    parts = chunks(batch, max(1, int(conf("BULK_POST_CHUNK"))))

    def post(part: pl.DataFrame) -> Posted:
        posted = post_batch(actor, channel=channel, cashier=cashier, day=day, batch=part, note=note)
        if then is not None:
            then(part.join(posted.payments.select("transaction", "payment"), on="transaction", how="left"))
        return posted

    if connection.vendor == "postgresql" and len(parts) > 1:
        results = _on_connections(max(1, int(conf("BULK_POST_WORKERS"))), parts, post)
    else:
        results = [post(part) for part in parts]
    return Posted(
        payments=pl.concat([r.payments for r in results]),
        entries=sum(r.entries for r in results),
        allocations=sum(r.allocations for r in results),
    )


def _on_connections(
    workers: int, parts: list[pl.DataFrame], post: Callable[[pl.DataFrame], Posted]
) -> list[Posted]:
    """``post`` of every part, each in its own transaction, on ``workers`` threads with a database connection
    each (closed at the end). The first failure stops the taking of further parts and is raised here."""
    waiting = list(enumerate(parts))
    results: list[Posted | None] = [None] * len(parts)
    failures: list[BaseException] = []
    guard = threading.Lock()

    def work() -> None:
        try:
            while True:
                with guard:
                    if failures or not waiting:
                        return
                    index, part = waiting.pop(0)
                try:
                    with transaction.atomic():
                        results[index] = post(part)
                except BaseException as error:  # noqa: BLE001 - handed to the caller's thread below
                    with guard:
                        failures.append(error)
                    return
        finally:
            connections.close_all()  # this thread's connections only

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(work,), name=f"bulk-post-{n}")
        for n in range(min(workers, len(parts)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [r for r in results if r is not None]
