"""Writing a rated chunk in bulk: bills, their lines and the accounts not billed — COPY on PostgreSQL (ids drawn
from the sequence in one statement), ``bulk_create`` elsewhere. Called inside the chunk's action (one
transaction, audited there)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from gridcare.billing.models import Bill, BillFinding, BillingRun, BillLine, NotBilled
from gridcare.billing.rating import BillRow
from gridcare.core.errors import Conflict
from gridcare.core.rows import TableRef, column_of
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


def write_chunk(run: BillingRun, bills: list[BillRow], not_billed: list[tuple[int, str, str]]) -> None:
    """Insert the chunk's bills and lines, list the accounts not billed, mark the credited compensations."""
    ids: list[int] = []
    if connection.vendor == "postgresql" and bills:
        ids = _copy(run, bills)
    elif bills:
        ids = _bulk(run, bills)
    BillFinding.objects.bulk_create(
        [
            BillFinding(bill_id=pk, rule=code, detail=text)
            for pk, b in zip(ids, bills, strict=True)
            for code, text in b.findings
        ],
        batch_size=5000,
    )
    NotBilled.objects.bulk_create(
        [NotBilled(run=run, account_id=a, reason=r, detail=d[:300]) for a, r, d in not_billed],
        batch_size=5000,
    )
    credited = [line.compensation for b in bills for line in b.lines if line.compensation is not None]
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


def _text(value: str) -> str:
    """A text value in COPY's text format (backslash, tab, newline and return escaped)."""
    return value.translate(_ESCAPES)


#: one encoder for every bill (``json.dumps`` with options builds a new one per call)
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _or_null(value: Any) -> str:
    return NULL if value is None else str(value)


def _copy(run: BillingRun, rows: list[BillRow]) -> list[int]:
    """COPY the bills with ids taken from the table's sequence in one statement, then COPY their lines — as text
    built in one pass (a row is one formatted line; no per-value adaptation)."""
    b = TableRef(Bill)
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{Bill._meta.db_table}', 'id')) "
            "FROM generate_series(1, %s)",
            [len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        raw = cursor.cursor
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
        with raw.copy(f"COPY {b} ({_columns(Bill, BILL_FIELDS)}) FROM STDIN") as copy:
            copy.write(bills)
        lines = "".join(
            f"{pk}\t{i}\t{ln.code}\t{_text(ln.label)}\t{_or_null(ln.quantity)}\t{ln.unit}\t"
            f"{_or_null(ln.unit_price)}\t{ln.amount}\t{_or_null(ln.compensation)}\n"
            for pk, row in zip(ids, rows, strict=True)
            for i, ln in enumerate(row.lines, start=1)
        )
        with raw.copy(f"COPY {TableRef(BillLine)} ({_columns(BillLine, LINE_FIELDS)}) FROM STDIN") as copy:
            copy.write(lines)
    return ids
