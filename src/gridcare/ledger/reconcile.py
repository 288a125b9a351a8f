"""对账 — a channel's daily file matched with our payments of that channel and day by transaction id, set-based
(Polars): matched / only ours / only theirs / amount differs. The file's column layout is the channel's data
(:attr:`Channel.layout`); differences are kept one row each until resolved by an action (post the missing payment,
ask for the reversal of ours, or accept with a reason); the result goes out as an Excel report."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope, restrict
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.core.frames import query_frame, scaled, scaled_sql
from gridcare.core.rows import TableRef, column_of
from gridcare.customers.models import Account
from gridcare.ledger import bulk as posting_bulk
from gridcare.ledger.actions import do_request_approval, do_take_payment
from gridcare.ledger.conf import conf, max_payment
from gridcare.ledger.models import (
    ApprovalRequest,
    Channel,
    ChannelFile,
    DailyClose,
    Difference,
    Entry,
    Payment,
)
from gridcare.org.models import User

COLUMNS = ("transaction", "account", "amount")


def read_file(channel: Channel, name: str, content: bytes) -> pl.DataFrame:
    """The file as a frame of text columns ``transaction, account, amount`` (amount in 元, exact to the cent)."""
    layout = channel.layout or {}
    missing = [c for c in COLUMNS if not layout.get(c)]
    if missing:
        raise InvalidInput(
            {
                "layout": f"渠道 {channel.code} 的文件格式缺少列：{', '.join(missing)}。 (Layout lacks columns.)"
            }
        )
    wanted = {layout[c]: c for c in COLUMNS}
    skip = int(layout.get("skip_rows", 0))
    if name.lower().endswith((".xlsx", ".xlsm")):
        frame = _read_excel(content, skip)
    else:
        try:
            frame = pl.read_csv(
                io.BytesIO(content),
                separator=str(layout.get("delimiter", ",")),
                skip_rows=skip,
                infer_schema=False,
                encoding="utf8-lossy",
            )
        except (pl.exceptions.PolarsError, ValueError) as exc:
            raise InvalidInput({"file": f"文件无法读取：{exc} (The file cannot be read.)"}) from None
    absent = [column for column in wanted if column not in frame.columns]
    if absent:
        raise InvalidInput(
            {
                "file": f"文件缺少列：{', '.join(absent)}；现有列：{', '.join(frame.columns)}。 (Columns missing.)"
            }
        )
    if frame.height > int(conf("MAX_FILE_ROWS")):
        raise InvalidInput({"file": f"文件超过 {conf('MAX_FILE_ROWS')} 行。 (Too many rows.)"})
    frame = frame.select(
        [pl.col(src).cast(pl.String).str.strip_chars().alias(dst) for src, dst in wanted.items()]
    )
    cents = pl.col("amount").str.replace_all(",", "").cast(pl.Decimal(18, 2), strict=False)
    if layout.get("amount_unit") == "fen":
        cents = pl.col("amount").cast(pl.Int64, strict=False).cast(pl.Decimal(18, 2)) / 100
    frame = frame.with_columns(cents.cast(pl.Decimal(18, 2)).alias("amount"))
    bad = frame.with_row_index("row").filter(
        pl.col("transaction").is_null() | (pl.col("transaction") == "") | pl.col("amount").is_null()
    )
    if bad.height:
        rows = ", ".join(str(r + skip + 2) for r in bad.get_column("row").head(10).to_list())
        raise InvalidInput(
            {"file": f"第 {rows} 行缺少流水号或金额无效。 (Rows without a transaction id or a valid amount.)"}
        )
    duplicated = frame.filter(pl.col("transaction").is_duplicated()).get_column("transaction").unique()
    if duplicated.len():
        raise InvalidInput(
            {"file": f"流水号重复：{', '.join(duplicated.head(10).to_list())}。 (Duplicate transaction ids.)"}
        )
    return frame


def _read_excel(content: bytes, skip: int) -> pl.DataFrame:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInput({"file": f"Excel 文件无法读取：{exc} (The workbook cannot be read.)"}) from None
    rows = list(sheet.iter_rows(values_only=True))[skip:]
    if not rows:
        raise InvalidInput({"file": "文件为空。 (The file is empty.)"})
    header = [str(h) if h is not None else f"column_{i}" for i, h in enumerate(rows[0])]
    data = {h: [None if r[i] is None else str(r[i]) for r in rows[1:]] for i, h in enumerate(header)}
    return pl.DataFrame(data, schema={h: pl.String for h in header})


def our_payments(channel: Channel, day: dt.date) -> pl.DataFrame:
    """Our live (not reversed) payments of the channel and day: ``payment, transaction, account, amount``."""
    p, e = TableRef(Payment), TableRef(Entry)
    sql = (
        f"SELECT {p.id}, {p.transaction_id}, {p.amount} FROM {p} WHERE {p.channel} = %s AND {p.day} = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {e} WHERE {e.payment} = {p.id} AND {e.kind} = 'reversal')"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [channel.pk, day])
        rows = cursor.fetchall()
    return pl.DataFrame(
        rows,
        schema={"payment": pl.Int64, "transaction": pl.String, "our_amount": pl.Decimal(18, 2)},
        orient="row",
    )


def match(theirs: pl.DataFrame, ours: pl.DataFrame) -> pl.DataFrame:
    """Full outer join on the transaction id with the kind of each row."""
    joined = theirs.rename({"amount": "their_amount"}).join(ours, on="transaction", how="full", coalesce=True)
    return joined.with_columns(
        pl.when(pl.col("payment").is_null())
        .then(pl.lit(Difference.Kind.ONLY_THEIRS.value))
        .when(pl.col("their_amount").is_null())
        .then(pl.lit(Difference.Kind.ONLY_OURS.value))
        .when(pl.col("their_amount") != pl.col("our_amount"))
        .then(pl.lit(Difference.Kind.AMOUNT_DIFFERS.value))
        .otherwise(pl.lit("matched"))
        .alias("kind")
    )


@action("ledger.import_channel_file", permission="payment.reconcile")
def do_import_channel_file(
    actor: User, *, channel: Channel, day: dt.date, name: str, content: bytes
) -> ChannelFile:
    """导入对账文件 — read, match, keep the counts and one row per difference."""
    started = time.perf_counter()
    if ChannelFile.objects.filter(channel=channel, day=day).exists():
        raise Conflict(f"{channel.name} {day} 已对账。 (This channel's day is reconciled already.)")
    if day > timezone.localdate():
        raise InvalidInput({"day": "不能对账未来的日期。 (A day in the future cannot be reconciled.)"})
    theirs = read_file(channel, name, content)
    result = match(theirs, our_payments(channel, day))
    counts = dict(result.group_by("kind").len().iter_rows())
    their_total = theirs.get_column("amount").sum()
    our_total = result.get_column("our_amount").sum()
    record = ChannelFile.objects.create(
        channel=channel,
        day=day,
        file_name=name[:200],
        rows=theirs.height,
        matched=counts.get("matched", 0),
        only_ours=counts.get(Difference.Kind.ONLY_OURS, 0),
        only_theirs=counts.get(Difference.Kind.ONLY_THEIRS, 0),
        amount_differs=counts.get(Difference.Kind.AMOUNT_DIFFERS, 0),
        their_total=Decimal(str(their_total or 0)),
        our_total=Decimal(str(our_total or 0)),
        imported_by=actor,
    )
    differences = result.filter(pl.col("kind") != "matched").select(
        file_id=pl.lit(record.pk, dtype=pl.Int64),
        kind=pl.col("kind"),
        transaction_id=pl.col("transaction").str.slice(0, 64),
        account_number=pl.col("account").fill_null("").str.slice(0, 20),
        their_amount=pl.col("their_amount").cast(pl.String),
        our_amount=pl.col("our_amount").cast(pl.String),
        payment_id=pl.col("payment"),
        resolution=pl.lit(Difference.Resolution.OPEN.value),
        note=pl.lit(""),
    )
    posting_bulk.write_rows(Difference, differences)  # COPY on PostgreSQL (a million rows in seconds)
    record.seconds = time.perf_counter() - started
    record.save(update_fields=["seconds"])
    audit.record(
        actor,
        "ledger.import_channel_file",
        record,
        after={
            "rows": record.rows,
            "matched": record.matched,
            "only_ours": record.only_ours,
            "only_theirs": record.only_theirs,
            "amount_differs": record.amount_differs,
        },
    )
    return record


@action("ledger.resolve_difference", permission="payment.reconcile")
def do_resolve_difference(actor: User, difference_id: int, *, resolution: str, note: str = "") -> Difference:
    """处理对账差异 — post the payment the channel has and we do not (as the channel's own posting), ask for the
    reversal of ours (an approval), or accept the difference with a reason."""
    found = get_in_scope(Difference.objects.all(), actor, write=True, pk=difference_id)
    # the file's row first, as the batch of its missing payments (:func:`do_post_file_missing`) takes it: the
    # two never post one transaction twice, and never wait on each other's difference rows
    list(ChannelFile.objects.select_for_update().filter(pk=found.file_id).values_list("pk", flat=True))
    difference = (
        Difference.objects.select_for_update(of=("self",))
        .select_related("file__channel__user")
        .get(pk=found.pk)
    )
    if difference.resolution != Difference.Resolution.OPEN:
        raise Conflict(f"该差异已处理（{difference.get_resolution_display()}）。 (Resolved already.)")
    text = (note or "").strip()
    before = audit.snapshot(difference, ["resolution"])
    if resolution == Difference.Resolution.POSTED:
        if difference.kind != Difference.Kind.ONLY_THEIRS:
            raise InvalidInput(
                {"resolution": "只有“仅渠道有”的差异可补记收费。 (Only a payment missing here is posted.)"}
            )
        channel = difference.file.channel
        difference.payment = do_take_payment(
            channel.user,
            account=difference.account_number,
            amount=difference.their_amount,
            method="channel",
            channel=channel,
            transaction_id=difference.transaction_id,
            note=f"对账补记 {difference.file.day}",
        )
    elif resolution == Difference.Resolution.REVERSAL_ASKED:
        if difference.payment_id is None:
            raise InvalidInput(
                {"resolution": "本方无此收费，无可冲正。 (There is no payment of ours to reverse.)"}
            )
        do_request_approval(
            actor,
            kind=ApprovalRequest.Kind.REVERSAL,
            payment_id=difference.payment_id,
            reason=text or f"对账差异：{difference.get_kind_display()} {difference.transaction_id}",
        )
    elif resolution == Difference.Resolution.ACCEPTED:
        if not text:
            raise InvalidInput({"note": "请填写接受差异的原因。 (Give the reason for accepting it.)"})
    else:
        raise InvalidInput({"resolution": "处理方式无效。 (Unknown resolution.)"})
    difference.resolution = resolution
    difference.resolved_by = actor
    difference.note = text[:200]
    difference.save(update_fields=["resolution", "resolved_by", "note", "payment"])
    audit.record(
        actor, "ledger.resolve_difference", difference, before=before, after={"resolution": resolution}
    )
    return difference


@dataclass
class MissingPosted:
    """批量补记的结果 — the payments posted for a file's missing rows, their total and the time taken."""

    file: ChannelFile
    posted: int
    total: Decimal
    seconds: float


BAD_ROWS_SHOWN = 20


def _missing_rows(actor: User, record: ChannelFile) -> pl.DataFrame:
    """The file's open "only theirs" differences with the account each names — only if within the actor's write
    scope (outside = unknown) — and the channel's payment of the same transaction if one was posted since."""
    d, a, p = TableRef(Difference, "d"), TableRef(Account, "s"), TableRef(Payment, "p")
    scope = restrict(Account.objects.order_by(), actor, write=True).values("pk")
    try:
        scope_sql, scope_params = scope.query.sql_with_params()
    except EmptyResultSet:
        scope_sql, scope_params = "SELECT -1 WHERE 1 = 0", ()
    sql = (
        f"SELECT {d.id}, {d.transaction_id}, {d.account_number}, {scaled_sql(d.their_amount, 2)}, a.id, {p.id} "
        f"FROM {d} LEFT JOIN (SELECT {a.id} AS id, {a.number} AS number FROM {a} WHERE {a.id} IN ({scope_sql})) a "
        f"ON a.number = {d.account_number} "
        f"LEFT JOIN {p} ON {p.channel_id} = %s AND {p.transaction_id} = {d.transaction_id} "
        f"WHERE {d.file_id} = %s AND {d.kind} = %s AND {d.resolution} = %s ORDER BY {d.transaction_id}"
    )
    return query_frame(
        sql,
        [
            *scope_params,
            record.channel_id,
            record.pk,
            Difference.Kind.ONLY_THEIRS.value,
            Difference.Resolution.OPEN.value,
        ],
        {
            "difference": pl.Int64,
            "transaction": pl.String,
            "number": pl.String,
            "fen": scaled(2),
            "account": pl.Int64,
            "posted": pl.Int64,
        },
    )


def _refusals(rows: pl.DataFrame) -> list[str]:
    """Every bad row named (the first ``BAD_ROWS_SHOWN``): unknown account (or outside the scope), an amount
    not above zero or above the largest payment, a transaction the channel has posted since."""
    largest = int(max_payment() * 100)
    bad = rows.with_columns(
        why=pl.when(pl.col("account").is_null())
        .then(pl.format("户号「{}」不存在 (unknown account)", pl.col("number").fill_null("")))
        .when(pl.col("fen").is_null() | (pl.col("fen") <= 0))
        .then(pl.lit("金额须大于零 (the amount must be positive)"))
        .when(pl.col("fen") > largest)
        .then(pl.lit(f"单笔金额不能超过 {max_payment()} 元 (above the largest single payment)"))
        .when(pl.col("posted").is_not_null())
        .then(pl.lit("流水号已入账 (posted already)"))
    ).filter(pl.col("why").is_not_null())
    return [
        f"{txn}：{why}" for txn, why in bad.select("transaction", "why").head(BAD_ROWS_SHOWN).iter_rows()
    ] + (
        [f"……共 {bad.height} 笔有误。 ({bad.height} bad rows in all.)"] if bad.height > BAD_ROWS_SHOWN else []
    )


@action("ledger.post_file_missing", permission="payment.reconcile")
def do_post_file_missing(actor: User, file_id: int) -> MissingPosted:
    """批量补记 — every open "only theirs" difference of a reconciled file posted as the channel's payment of the
    file's day (transaction id, account and amount from the file), set-based (:mod:`gridcare.ledger.bulk`), the
    differences resolved as posted with their payments; all or nothing: any bad row and nothing is posted, every
    bad row named. The channel's day must still be open (not 日结). The file's row is locked first: a second copy
    at once waits, then finds nothing left to post."""
    started = time.perf_counter()
    record = get_in_scope(
        ChannelFile.objects.select_for_update(of=("self",)).select_related("channel__user"),
        actor,
        write=True,
        pk=file_id,
    )
    channel = record.channel
    if DailyClose.objects.filter(cashier_id=channel.user_id, day=record.day).exists():
        raise Conflict(
            f"{channel.name} {record.day} 已日结，不能再补记收费。"
            f" (The channel's day {record.day} is closed: no more payments can be posted for it.)"
        )
    rows = _missing_rows(actor, record)
    refusals = _refusals(rows)
    if refusals:
        raise InvalidInput(
            {"rows": refusals},
            "批量补记未入账任何一笔，以下各笔有误："
            + "；".join(refusals)
            + " (Nothing was posted: every bad row is listed; correct them or resolve them one by one.)",
        )
    posted = posting_bulk.post_chunked(
        actor,
        channel=channel,
        cashier=channel.user,
        day=record.day,
        batch=rows.select("transaction", "account", "fen", "difference"),
        note=f"对账补记 {record.day}",
        then=lambda posted: _resolve_posted(actor, record, posted),
    )
    total = (Decimal(posted.fen) / 100).quantize(Decimal("0.01"))
    result = MissingPosted(record, posted.count, total, time.perf_counter() - started)
    audit.record(
        actor,
        "ledger.post_file_missing",
        record,
        after={"posted": posted.count, "total": total, "day": record.day},
    )
    return result


def _resolve_posted(actor: User, record: ChannelFile, posted: pl.DataFrame) -> int:
    """The file's differences of ``posted`` (``difference``, ``payment``: open, "only theirs") marked posted with
    their payments — one UPDATE … FROM the pairs (an array each on PostgreSQL, JSON on SQLite)."""
    table = Difference._meta.db_table
    pairs = posted.select("difference", "payment")
    if connection.vendor == "postgresql":
        source = "unnest(%s::bigint[], %s::bigint[]) AS pair (difference, payment)"
        params: list[Any] = [pairs.get_column("difference").to_list(), pairs.get_column("payment").to_list()]
    else:
        source = (
            "(SELECT json_extract(value, '$[0]') AS difference, json_extract(value, '$[1]') AS payment "
            "FROM json_each(%s)) AS pair"
        )
        params = [json.dumps(pairs.rows())]

    def mine(name: str) -> str:
        return f'"{table}".{_column(Difference, name)}'

    sql = (
        f'UPDATE "{table}" SET {_column(Difference, "resolution")} = %s, {_column(Difference, "resolved_by")} = %s, '
        f"{_column(Difference, 'payment')} = pair.payment, {_column(Difference, 'note')} = %s FROM {source} "
        f"WHERE {mine('id')} = pair.difference AND {mine('file')} = %s AND {mine('kind')} = %s "
        f"AND {mine('resolution')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                Difference.Resolution.POSTED.value,
                actor.pk,
                "批量补记",
                *params,
                record.pk,
                Difference.Kind.ONLY_THEIRS.value,
                Difference.Resolution.OPEN.value,
            ],
        )
        resolved = int(cursor.rowcount)
    if resolved != pairs.height:
        raise Conflict(
            f"对账差异已被他人处理：{pairs.height - resolved} 笔。 (Differences resolved by someone else meanwhile.)"
        )
    return resolved


def _column(model: type[Difference], name: str) -> str:
    return f'"{column_of(model._meta.get_field(name))}"'


def report_rows(record: ChannelFile) -> list[list[Any]]:
    return [
        [
            d.get_kind_display(),
            d.transaction_id,
            d.account_number,
            d.their_amount,
            d.our_amount,
            d.payment.number if d.payment else "",
            d.get_resolution_display(),
            d.note,
        ]
        for d in record.differences.select_related("payment").order_by("kind", "transaction_id")
    ]
