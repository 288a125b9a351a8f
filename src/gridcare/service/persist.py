"""Writing a new work order — the intake hot path.

On PostgreSQL the order, its SLA clocks and its first transitions go to the database in **one statement**
(data-modifying CTEs), and once today's number base is known in this process the number itself is computed in
that statement from the sequence; other databases use the ORM. Column lists and value conversions come from the
models' fields, so both paths store the same thing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import connection, models

from gridcare.core.rows import column_of, database, db_values, fetch_one
from gridcare.service import numbering
from gridcare.service.models import SLAClock, WorkOrder, WorkOrderTransition

# prefix || the day's counter, at least four digits (lpad alone would cut 10000 to "1000")
_NUMBER_SQL = (
    "(SELECT %s || lpad(n::text, greatest(4, length(n::text)), '0') "
    f"FROM (SELECT nextval('{numbering.SEQUENCE}') - %s AS n) AS counter)"
)


@functools.cache
def _layout(model: type[models.Model], skip: frozenset[str]) -> tuple[list[models.Field], str]:
    """The fields written for ``model`` and the ``(%s::type, …)`` row template (computed once per process)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]
    return fields, f"({', '.join(f'%s::{f.db_type(connection)}' for f in fields)})"


def _values(obj: models.Model, fields: list[models.Field], params: list[object]) -> None:
    """Append one row's values, converted by their fields, to ``params``."""
    params.extend(db_values(obj, fields, database()))


def _children(
    name: str, model: type[models.Model], rows: Sequence[models.Model], params: list[object]
) -> str:
    fields, row = _layout(model, frozenset({"order_id"}))
    for child in rows:
        _values(child, fields, params)
    columns = ", ".join(column_of(f) for f in fields)
    return (
        f"{name} AS (INSERT INTO {model._meta.db_table} (order_id, {columns}) "
        f"SELECT o.id, v.* FROM o, (VALUES {', '.join([row] * len(rows))}) AS v({columns}))"
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
    fields, row = _layout(WorkOrder, frozenset({"number"}))
    params: list[object] = [numbering.prefix(day), base]
    _values(order, fields, params)
    parts = [
        f"o AS (INSERT INTO {WorkOrder._meta.db_table} (number, {', '.join(column_of(f) for f in fields)}) "
        f"VALUES ({_NUMBER_SQL}, {row[1:]} RETURNING id, number)"
    ]
    if clocks:
        parts.append(_children("c", SLAClock, clocks, params))
    parts.append(_children("t", WorkOrderTransition, history, params))
    inserted = fetch_one(f"WITH {', '.join(parts)} SELECT id, number FROM o", params)
    assert inserted is not None  # INSERT … RETURNING answers the new row
    order.pk, order.number = inserted
    order._state.adding = False
    order._state.db = "default"
