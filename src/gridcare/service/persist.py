"""Writing a new work order — the intake hot path.

On PostgreSQL the order, its SLA clocks and its first transitions go to the database in **one statement**
(data-modifying CTEs), and once today's number base is known in this process the number itself is computed in
that statement from the sequence; other databases use the ORM. Column lists and value conversions come from the
models' fields, so both paths store the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

from gridcare.core.rows import database, fetch_one
from gridcare.service import numbering
from gridcare.service.models import SLAClock, WorkOrder, WorkOrderTransition

_CASTS: dict[models.Field, str] = {}


def _fields(model: type[models.Model], skip: set[str]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]


def _cast(field: models.Field) -> str:
    """``%s::<column type>`` of a field (computed once per process)."""
    cast = _CASTS.get(field)
    if cast is None:
        cast = _CASTS[field] = f"%s::{field.db_type(connection)}"
    return cast


def _values(obj: models.Model, fields: list[models.Field], params: list[object]) -> str:
    """``(%s::type, …)`` for one row; appends the prepared values to ``params``."""
    db = database()
    parts = []
    for field in fields:
        params.append(field.get_db_prep_save(getattr(obj, field.attname), db))
        parts.append(_cast(field))
    return f"({', '.join(parts)})"


def _children(
    name: str, model: type[models.Model], rows: Sequence[models.Model], params: list[object]
) -> str:
    fields = _fields(model, {"order_id"})
    columns = ", ".join(f.column for f in fields)
    values = ", ".join(_values(row, fields, params) for row in rows)
    return (
        f"{name} AS (INSERT INTO {model._meta.db_table} (order_id, {columns}) "
        f"SELECT o.id, v.* FROM o, (VALUES {values}) AS v({columns}))"
    )


def insert_order(
    order: WorkOrder, clocks: Sequence[SLAClock], history: Sequence[WorkOrderTransition]
) -> None:
    """Insert ``order`` (its number allocated here) with its clocks and transitions; sets ``order.pk``."""
    day = numbering.local_day(order.created_at)
    db = database()
    base = numbering.cached_base(day) if db.vendor == "postgresql" else None
    if base is None:
        order.number = numbering.next_number(order.created_at)
        order.save(force_insert=True)
        if clocks:
            SLAClock.objects.bulk_create(clocks)
        WorkOrderTransition.objects.bulk_create(history)
        return
    fields = _fields(WorkOrder, set())
    params: list[object] = []
    exprs = []
    for field in fields:
        if field.attname == "number":
            exprs.append(f"%s || lpad((nextval('{numbering.SEQUENCE}') - %s)::text, 4, '0')")
            params += [numbering.prefix(day), base]
        else:
            params.append(field.get_db_prep_save(getattr(order, field.attname), db))
            exprs.append(_cast(field))
    parts = [
        f"o AS (INSERT INTO {WorkOrder._meta.db_table} ({', '.join(f.column for f in fields)}) "
        f"VALUES ({', '.join(exprs)}) RETURNING id, number)"
    ]
    if clocks:
        parts.append(_children("c", SLAClock, clocks, params))
    parts.append(_children("t", WorkOrderTransition, history, params))
    order.pk, order.number = fetch_one(f"WITH {', '.join(parts)} SELECT id, number FROM o", params)  # type: ignore[misc]
    order._state.adding = False
    order._state.db = "default"
