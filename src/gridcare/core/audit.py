"""The one audit writer. Actions call :func:`record` inside their transaction."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from gridcare.core.context import current_origin
from gridcare.core.models import AuditEntry
from gridcare.core.rows import insert_row, insert_rows

# Counts audit rows written by the action currently running, so the action wrapper can insist on one.
_rows_written: ContextVar[list[int] | None] = ContextVar("gridcare_audit_rows", default=None)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def json_value(value: Any) -> Any:
    """A JSON-safe rendering of a field value (Decimal and dates as strings, model instances as pk)."""
    if type(value) in _PLAIN:  # most values: no conversion (and no chain of isinstance checks)
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The values of an instance's concrete fields (foreign keys as ids), for before/after columns."""
    names = list(fields) if fields is not None else [f.attname for f in instance._meta.concrete_fields]
    return {name: json_value(getattr(instance, name)) for name in names}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
    note: str = "",
) -> AuditEntry:
    """Write one audit row stamped with the current request or job id."""
    origin = current_origin()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
        object_repr = str(obj) if object_repr is None else object_repr
    user = actor if getattr(actor, "pk", None) is not None else None
    entry = insert_row(
        AuditEntry(
            actor=user,
            actor_name=(getattr(actor, "display_name", None) or getattr(actor, "username", "") or "system")[
                :150
            ],
            action=action,
            object_type=object_type or "",
            object_id=str(object_id if object_id is not None else ""),
            object_repr=(object_repr or "")[:255],
            before=json_value(dict(before)) if before is not None else None,
            after=json_value(dict(after)) if after is not None else None,
            request_id=origin.request_id,
            job_id=origin.job_id,
            note=note,
        )
    )
    counter = _rows_written.get()
    if counter is not None:
        counter[0] += 1
    return entry


def bulk_record(actor: Any, action: str, rows: Iterable[dict[str, Any]]) -> int:
    """Write many audit rows at once (batch actions); each row gives object_type/object_id/before/after (and
    ``request_id`` if not the current request's: the posts of a group commit).

    On PostgreSQL the rows go through COPY from a few on (tens of thousands of rows per second instead of
    thousands; for a dozen rows — a group of channel posts — a tenth of the ORM's time building them), fewer by
    one prepared statement (:func:`insert_rows`).
    """
    origin = current_origin()
    user = actor if getattr(actor, "pk", None) is not None else None
    name = (getattr(actor, "display_name", None) or getattr(actor, "username", "") or "system")[:150]
    rows = list(rows)
    if connection.vendor == "postgresql" and len(rows) >= COPY_THRESHOLD:
        written = _copy_rows(user, name, action, origin, rows)
    else:
        entries = [
            AuditEntry(
                actor=user,
                actor_name=name,
                action=action,
                object_type=row["object_type"],
                object_id=str(row["object_id"]),
                object_repr=str(row.get("object_repr", ""))[:255],
                before=json_value(row.get("before")),
                after=json_value(row.get("after")),
                request_id=row.get("request_id", origin.request_id),
                job_id=origin.job_id,
                note=row.get("note", ""),
            )
            for row in rows
        ]
        insert_rows(entries)  # (PostgreSQL: one prepared statement; elsewhere bulk_create)
        written = len(entries)
    counter = _rows_written.get()
    if counter is not None:
        counter[0] += written
    return written


COPY_THRESHOLD = 4


def _copy_rows(user: Any, name: str, action: str, origin: Any, rows: list[dict[str, Any]]) -> int:
    """The same rows as :func:`bulk_record` writes with the ORM, streamed with COPY (psycopg 3)."""
    now = timezone.now()
    actor_id = user.pk if user is not None else None
    table = AuditEntry._meta.db_table
    columns = [
        "at",
        "actor_id",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "before",
        "after",
        "request_id",
        "job_id",
        "note",
    ]

    def as_json(value: Any) -> str | None:
        return None if value is None else json.dumps(json_value(value), ensure_ascii=False)

    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(
                (
                    now,
                    actor_id,
                    name,
                    action,
                    row["object_type"],
                    str(row["object_id"]),
                    str(row.get("object_repr", ""))[:255],
                    as_json(row.get("before")),
                    as_json(row.get("after")),
                    row.get("request_id", origin.request_id),
                    origin.job_id,
                    row.get("note", ""),
                )
            )
    return len(rows)


def count_written(rows: int) -> None:
    """Count audit rows a caller wrote itself (a bulk COPY of its own), for the action wrapper's check."""
    counter = _rows_written.get()
    if counter is not None:
        counter[0] += rows
