"""Set-based SQL of the capture path: a batch's keys as one parameter, rows written with COPY.

The ORM binds a list as one placeholder per value and compiles its SQL on every call; for a batch of a thousand
reads that alone costs more than the work. Here a list is **one** parameter — an array on PostgreSQL
(``= ANY(%s)``, ``unnest``), a JSON text on SQLite (``json_each``) — so each statement is the same SQL text for
every batch, and new rows go in with ``COPY`` on PostgreSQL (ids reserved from the table's sequence first) and
``bulk_create`` on SQLite. Columns come from the models (:class:`~gridcare.core.rows.TableRef`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.expressions import RawSQL

from gridcare.core.rows import TableRef, column_of, database

#: key column types: name in PostgreSQL's ``unnest`` cast
KEY_TYPES = {"int": "bigint", "text": "text", "time": "timestamptz"}


def is_postgres() -> bool:
    return database().vendor == "postgresql"


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return database().ops.adapt_datetimefield_value(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _pg_array(values: Sequence[Any], kind: str) -> tuple[str, Any]:
    """An array parameter as one text value: ints and times as an array literal (their text has no character
    an array literal would need to escape), any text through JSON."""
    if kind == "text":
        return "ARRAY(SELECT json_array_elements_text(%s::json))", json.dumps(
            list(values), ensure_ascii=False
        )
    if kind == "time":  # a batch's reads mostly share their read time: each distinct moment spelled once
        spelled: dict[dt.datetime, str] = {}
        text = ",".join(
            "NULL" if v is None else spelled.get(v) or spelled.setdefault(v, v.isoformat()) for v in values
        )
    else:
        text = ",".join("NULL" if v is None else str(int(v)) for v in values)
    return f"%s::{KEY_TYPES[kind]}[]", "{" + text + "}"


def in_list(column: str, values: Sequence[Any], kind: str) -> tuple[str, list[Any]]:
    """``column`` is one of ``values`` (of ``kind`` in :data:`KEY_TYPES`): SQL and its single parameter."""
    if is_postgres():
        array, param = _pg_array(values, kind)
        return f"{column} = ANY({array})", [param]
    return (
        f"{column} IN (SELECT value FROM json_each(%s))",
        [json.dumps([_sqlite_value(v) for v in values])],
    )


def among(model: type[models.Model], column: str, ids: Sequence[int]) -> RawSQL:
    """A filter: ``model``'s integer ``column`` is one of ``ids`` — one array parameter, and the ids' bounds so the
    planner takes a range of the column's index: a chunk's keys are mostly consecutive, and thousands of separate
    probes looked dearer to PostgreSQL than a scan of the whole table (which made a billing run's load grow with
    the company instead of the chunk)."""
    qualified = f'"{model._meta.db_table}"."{column}"'
    sql, params = in_list(qualified, ids, "int")
    if ids:
        sql, params = f"{qualified} BETWEEN %s AND %s AND {sql}", [min(ids), max(ids), *params]
    return RawSQL(sql, params, output_field=models.BooleanField())


def keys(
    alias: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """A derived table ``alias(name, …)`` of ``rows`` (columns: (name, type in :data:`KEY_TYPES`)) for joins."""
    names = ", ".join(name for name, _ in columns)
    if is_postgres():
        arrays = [_pg_array([row[i] for row in rows], kind) for i, (_, kind) in enumerate(columns)]
        return f"unnest({', '.join(a for a, _ in arrays)}) AS {alias}({names})", [p for _, p in arrays]
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
    payload = json.dumps([[_sqlite_value(v) for v in row] for row in rows])
    return f"(SELECT {picks} FROM json_each(%s)) AS {alias}", [payload]


#: first key of the (int, int) advisory locks on meters (a key space apart from ``core.locks``' bigint keys)
METER_LOCK_CLASS = 0x4D52  # "MR"
#: meters share this many advisory locks (meter id modulo): a batch holds at most this many, whatever its size —
#: PostgreSQL's lock table has room for ``max_locks_per_transaction`` × connections (6,400 by default)
METER_LOCKS: int = getattr(settings, "GRIDCARE_READINGS_METER_LOCKS", 1024)


def lock_meters(ids: Sequence[int]) -> None:
    """Hold each meter until the transaction ends, in order (no deadlock): two batches reading the same meters
    at once are taken one after the other, so the second sees the first's reads (a replay is a duplicate, not a
    unique-key violation, and consumption starts from the right previous read). A lock covers every meter of
    the same id modulo :data:`METER_LOCKS`, so a chunk of 20,000 reads takes at most that many. SQLite writes
    one transaction at a time anyway."""
    if not ids or not is_postgres():
        return
    array, param = _pg_array(sorted({pk % METER_LOCKS for pk in ids}), "int")
    fetch(
        f"SELECT count(pg_advisory_xact_lock(%s, m::int)) FROM "
        f"(SELECT m FROM unnest({array}) AS m ORDER BY m) AS ordered",
        [METER_LOCK_CLASS, param],
    )


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with database().cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def execute(sql: str, params: Sequence[Any]) -> int:
    with database().cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def update_in(model: type[models.Model], ids: Sequence[int], **values: Any) -> int:
    """``UPDATE … SET field = value … WHERE id IN ids`` as one statement."""
    if not ids:
        return 0
    ref = TableRef(model)
    sets = ", ".join(f"{getattr(ref, name)} = %s" for name in values)
    where, params = in_list(ref.id, ids, "int")
    return execute(f"UPDATE {ref} SET {sets} WHERE {where}", [*values.values(), *params])


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys from the table's own sequence (PostgreSQL)."""
    table = model._meta.db_table
    column = column_of(model._meta.pk)
    return [
        row[0]
        for row in fetch(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
    ]


def copy_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Stream ``rows`` (values of ``fields``, by attname) into the model's table with COPY (PostgreSQL)."""
    if not rows:
        return 0
    ref = TableRef(model)
    columns = ", ".join(getattr(ref, name) for name in fields)
    with database().cursor() as cursor, cursor.cursor.copy(f"COPY {ref} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)
