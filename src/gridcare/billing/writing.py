"""Writing a rated chunk in bulk: bills, their lines and the accounts not billed — COPY on PostgreSQL (ids drawn
from the sequence in one statement), ``bulk_create`` elsewhere. Called inside the chunk's action (one
transaction, audited there)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.utils import timezone

from gridcare.billing.models import Bill, BillFinding, BillingRun, BillLine, NotBilled
from gridcare.billing.rating import ENERGY_AT, BillRow, LaneBills, RatedChunk
from gridcare.core.errors import Conflict
from gridcare.core.frames import scaled_text
from gridcare.core.rows import TableRef, column_of
from gridcare.engine.money import FEN_DEC
from gridcare.service.models import Compensation

BILL_FIELDS = (
    "id",
    "account",
    "period",
    "period_start",
    "period_end",
    "kind",
    "status",
    "run",
    "tariff_code",
    "energy_kwh",
    "tier_ytd_kwh",
    "tier_kwh",
    "power_factor",
    "charges",
    "funds",
    "credits",
    "total",
    "inputs",
    "number",
    "created_at",
)
LINE_FIELDS = (
    "bill",
    "sequence",
    "code",
    "label",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "compensation",
)


def _columns(model: Any, names: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(column_of(model._meta.get_field(n))) for n in names)


def write_chunk(run: BillingRun, rated: RatedChunk) -> None:
    """Insert the chunk's bills and lines, list the accounts not billed, mark the credited compensations."""
    findings: list[tuple[int, str, str]] = []
    if connection.vendor == "postgresql" and rated.count:
        findings = _copy(run, rated)
    elif rated.count:
        rows = rated.bills
        ids = _bulk(run, rows)
        findings = [(pk, code, text) for pk, b in zip(ids, rows, strict=True) for code, text in b.findings]
    BillFinding.objects.bulk_create(
        [BillFinding(bill_id=pk, rule=code, detail=text) for pk, code, text in findings], batch_size=5000
    )
    NotBilled.objects.bulk_create(
        [NotBilled(run=run, account_id=a, reason=r, detail=d[:300]) for a, r, d in rated.not_billed],
        batch_size=5000,
    )
    # the lane takes no account with compensations: they are all on the general path's rows
    credited = [line.compensation for b in rated.general for line in b.lines if line.compensation is not None]
    if credited:
        marked = Compensation.objects.filter(pk__in=credited, credited=False).update(credited=True)
        if marked != len(credited):  # another run credited one of them meanwhile: roll the chunk back
            raise Conflict("补偿已被另一批次入账。 (A compensation was credited by another run.)")


def _bulk(run: BillingRun, rows: list[BillRow]) -> list[int]:
    now = timezone.now()
    bills = Bill.objects.bulk_create(
        [
            Bill(
                account_id=b.account,
                period=run.period,
                period_start=b.period_start,
                period_end=b.period_end,
                run=run,
                tariff_code=b.tariff_code,
                energy_kwh=b.energy_kwh,
                tier_ytd_kwh=b.tier_ytd_kwh,
                tier_kwh=b.tier_kwh,
                power_factor=b.power_factor,
                charges=b.charges,
                funds=b.funds,
                credits=b.credits,
                total=b.total,
                inputs=b.inputs,
                status=_status(b),
                created_at=now,
            )
            for b in rows
        ],
        batch_size=2000,
    )
    BillLine.objects.bulk_create(
        [
            BillLine(
                bill_id=bill.pk,
                sequence=i,
                code=ln.code,
                label=ln.label,
                quantity=ln.quantity,
                unit=ln.unit,
                unit_price=ln.unit_price,
                amount=ln.amount,
                compensation_id=ln.compensation,
            )
            for bill, row in zip(bills, rows, strict=True)
            for i, ln in enumerate(row.lines, start=1)
        ],
        batch_size=5000,
    )
    return [b.pk for b in bills]


def _status(row: BillRow) -> str:
    return (Bill.Status.REVIEW if row.findings else Bill.Status.DRAFT).value


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"
#: a lane line's quantity: 0 none, 1 the bill's kWh, 2 the account's capacity, 3 one TOU period's kWh
_KIND_CODES = {"energy": 1, "capacity": 2}


def _text(value: str) -> str:
    """A text value in COPY's text format (backslash, tab, newline and return escaped)."""
    return value.translate(_ESCAPES)


#: one encoder for every bill (``json.dumps`` with options builds a new one per call)
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _or_null(value: Any) -> str:
    return NULL if value is None else str(value)


def _copy(run: BillingRun, rated: RatedChunk) -> list[tuple[int, str, str]]:
    """COPY the bills with ids taken from the table's sequence in one statement (in the chunk's account order),
    then COPY their lines: the general path's rows as text built in one pass, the lane's columns formatted by
    Polars. Returns the findings with their bills' ids."""
    general, lane = rated.general, rated.lane
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{Bill._meta.db_table}', 'id')) "
            "FROM generate_series(1, %s)",
            [rated.count],
        )
        drawn = np.sort(np.fromiter((r[0] for r in cursor.fetchall()), dtype=np.int64, count=rated.count))
        places = np.asarray(rated.positions + (lane.positions if lane is not None else []), dtype=np.int64)
        ids = np.empty_like(drawn)
        ids[np.argsort(places, kind="stable")] = drawn  # the smallest id to the first account
        general_ids = ids[: len(general)].tolist()
        bills, lines = _row_text(run, general, general_ids, now)
        findings = [
            (pk, code, text) for pk, b in zip(general_ids, general, strict=True) for code, text in b.findings
        ]
        if lane is not None:
            lane_ids = ids[len(general) :]
            more_bills, more_lines = _lane_text(run, lane, lane_ids, now)
            bills, lines = bills + more_bills, lines + more_lines
            findings += [
                (int(lane_ids[k]), code, text) for k, found in lane.findings.items() for code, text in found
            ]
        raw = cursor.cursor
        with raw.copy(f"COPY {TableRef(Bill)} ({_columns(Bill, BILL_FIELDS)}) FROM STDIN") as copy:
            copy.write(bills)
        with raw.copy(f"COPY {TableRef(BillLine)} ({_columns(BillLine, LINE_FIELDS)}) FROM STDIN") as copy:
            copy.write(lines)
    return findings


def _row_text(run: BillingRun, rows: list[BillRow], ids: list[int], now: str) -> tuple[str, str]:
    """COPY text of row objects' bills and lines (a row is one formatted line; no per-value adaptation)."""
    head = f"\t{_text(run.period)}\t"
    tail = f"\t{run.pk}\t"
    regular = Bill.Kind.REGULAR.value
    bills = "".join(
        f"{pk}\t{row.account}{head}{row.period_start}\t{row.period_end}\t{regular}\t{_status(row)}{tail}"
        f"{_text(row.tariff_code)}\t{row.energy_kwh}\t{row.tier_ytd_kwh}\t{_or_null(row.tier_kwh)}\t"
        f"{_or_null(row.power_factor)}\t{row.charges}\t{row.funds}\t{row.credits}\t{row.total}\t"
        f"{_text(_json(row.inputs))}\t{NULL}\t{now}\n"
        for pk, row in zip(ids, rows, strict=True)
    )
    lines = "".join(
        f"{pk}\t{i}\t{ln.code}\t{_text(ln.label)}\t{_or_null(ln.quantity)}\t{ln.unit}\t"
        f"{_or_null(ln.unit_price)}\t{ln.amount}\t{_or_null(ln.compensation)}\n"
        for pk, row in zip(ids, rows, strict=True)
        for i, ln in enumerate(row.lines, start=1)
    )
    return bills, lines


def _named(names: Sequence[str], *columns: pl.Expr) -> list[pl.Expr]:
    """The columns of a COPY, named after the fields they fill (Polars wants distinct names, literals too)."""
    return [column.alias(name) for name, column in zip(names, columns, strict=True)]


def _copy_text(frame: pl.DataFrame) -> str:
    """A frame of text columns as COPY's text format (the values are escaped already; nulls as \\N)."""
    return frame.write_csv(separator="\t", include_header=False, quote_style="never", null_value=NULL)


def _lane_text(run: BillingRun, lane: LaneBills, ids: np.ndarray, now: str) -> tuple[str, str]:
    """COPY text of the lane's bills and lines, column by column: money and kWh from the integer fen and 0.001 kWh,
    each line where the engine's amount is not zero, its words from the (version, code) pairs the chunk has."""
    entries = lane.entries
    spelled: dict[Any, str] = {}

    def spell(value: Any) -> str:
        found = spelled.get(value)
        if found is None:
            found = spelled[value] = str(value)
        return found

    escaped = {code: _text(code[:64]) for code in set(lane.codes)}
    review, draft = Bill.Status.REVIEW.value, Bill.Status.DRAFT.value
    bills = pl.DataFrame(
        {
            "id": ids,
            "account": [e.account for e in entries],
            "start": [spell(e.period_start) for e in entries],
            "end": [spell(e.period_end) for e in entries],
            "status": [review if k in lane.findings else draft for k in range(lane.size)],
            "code": [escaped[c] for c in lane.codes],
            "energy": lane.energy_milli,
            "ytd": [spell(e.tier_ytd_kwh) for e in entries],
            "pf": lane.power_factor,
            "charges": lane.charges_fen,
            "funds": lane.funds_fen,
            "total": lane.total_fen,
            "inputs": lane.inputs,
        },
        schema_overrides={"ytd": pl.String},
    ).select(
        *_named(
            BILL_FIELDS,
            pl.col("id"),
            pl.col("account"),
            pl.lit(_text(run.period)),
            pl.col("start"),
            pl.col("end"),
            pl.lit(Bill.Kind.REGULAR.value),
            pl.col("status"),
            pl.lit(run.pk),
            pl.col("code"),
            scaled_text("energy", 3),
            pl.col("ytd"),
            pl.lit(None, dtype=pl.String),
            pl.when(pl.col("pf") >= 0).then(scaled_text("pf", 2)),
            scaled_text("charges", FEN_DEC),
            scaled_text("funds", FEN_DEC),
            pl.lit("0.00"),
            scaled_text("total", FEN_DEC),
            pl.col("inputs").str.replace_all("\\", "\\\\", literal=True),
            pl.lit(None, dtype=pl.String),
            pl.lit(now),
        )
    )
    account, code = np.nonzero(lane.fen)  # row-major: each bill's lines together, in the catalog's code order
    first = np.searchsorted(account, account, side="left")
    pairs, which = np.unique(lane.versions[account] * len(lane.catalog.codes) + code, return_inverse=True)
    width = len(lane.catalog.codes)
    statics = [lane.static(int(pair) // width, int(pair) % width) for pair in pairs.tolist()]
    # a line's quantity: none, the bill's kWh, the account's capacity or one TOU period's kWh (0.001 kWh)
    kinds = [kind for _, _, _, kind in statics]
    kind_of = np.array([0 if k is None else _KIND_CODES.get(k, 3) for k in kinds], dtype=np.int64)[which]
    period_at = np.array([ENERGY_AT.get(k or "", -1) for k in kinds], dtype=np.int64)[which]
    of_period = np.where(period_at >= 0, lane.energy[account, np.maximum(period_at, 0)], 0)
    milli = np.where(kind_of == 1, lane.energy_milli[account], of_period)
    capacity = [None if e.capacity_kva is None else spell(e.capacity_kva) for e in entries]
    words = pl.DataFrame(
        {
            "label": [_text(label) for label, _, _, _ in statics],
            "unit": [unit for _, unit, _, _ in statics],
            "price": [None if price is None else str(price) for _, _, price, _ in statics],
        },
        schema_overrides={"price": pl.String},
    ).select(pl.all().gather(which))
    lines = (
        pl.DataFrame(
            {
                "bill": ids[account],
                "sequence": np.arange(len(account), dtype=np.int64) - first + 1,
                "code": pl.Series([_text(c) for c in lane.catalog.codes]).gather(code),
                "kind": kind_of,
                "milli": milli,
                "capacity": pl.Series(capacity, dtype=pl.String).gather(account),
                "amount": lane.fen[account, code],
            }
        )
        .hstack(words)
        .select(
            *_named(
                LINE_FIELDS,
                pl.col("bill"),
                pl.col("sequence"),
                pl.col("code"),
                pl.col("label"),
                pl.when(pl.col("kind") == 2)
                .then(pl.col("capacity"))
                .when(pl.col("kind") != 0)
                .then(scaled_text("milli", 3)),
                pl.col("unit"),
                pl.col("price"),
                scaled_text("amount", FEN_DEC),
                pl.lit(None, dtype=pl.String),
            )
        )
    )
    return _copy_text(bills), _copy_text(lines)
