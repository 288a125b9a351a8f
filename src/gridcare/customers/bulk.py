"""The bulk path for imports and the large demo: reserve primary keys, then COPY (PostgreSQL, psycopg 3) or
``executemany`` (SQLite) straight into the tables — no per-row ORM work, millions of rows per minute.

Callers build plain tuples in column order; this module converts the few types a driver does not take as is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from django.db import connection, models

from gridcare.core.rows import column_of


class BulkWriter:
    """Writes rows of one or more models in the current transaction."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        if self.vendor == "postgresql" and connection.in_atomic_block:
            with connection.cursor() as cursor:
                # Let the trigram (GIN) indexes queue new entries in their pending list instead of merging
                # them row by row; (auto)vacuum merges the list later. Transaction-local.
                cursor.execute("SET LOCAL gin_pending_list_limit = '512MB'")

    def trust_generated_references(self) -> None:
        """Skip the deferred foreign-key checks for the rest of this transaction (PostgreSQL superuser only).

        For generated data whose references are correct by construction (the demo): checking millions of
        foreign keys at commit roughly doubles the load time. Elsewhere (imports) the checks stay on.
        """
        if self.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if row and row[0]:
                cursor.execute("SET LOCAL session_replication_role = replica")

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        """``count`` fresh primary keys of ``model`` (sequence values on PostgreSQL; past the maximum on SQLite)."""
        if count <= 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # The sequence's name first: as an argument of nextval() in the same query,
                # pg_get_serial_sequence() would be looked up again for every row (5× slower).
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
                return [row[0] for row in cursor.fetchall()]
            cursor.execute(f'SELECT MAX(id) FROM "{table}"')  # SQLite: the write lock is held (IMMEDIATE)
            top = cursor.fetchone()[0] or 0
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            start = max(top, row[0] if row else 0) + 1
        return list(range(start, start + count))

    def _converters(
        self, model: type[models.Model], fields: Sequence[str]
    ) -> list[Callable[[Any], Any] | None]:
        ops = connection.ops
        result: list[Callable[[Any], Any] | None] = []
        for name in fields:
            field = model._meta.get_field(name)
            if isinstance(field, models.JSONField):
                result.append(lambda v: None if v is None else json.dumps(v, ensure_ascii=False))
            elif self.vendor != "postgresql" and isinstance(field, models.DateTimeField):
                result.append(ops.adapt_datetimefield_value)
            elif self.vendor != "postgresql" and isinstance(field, models.DateField):
                result.append(ops.adapt_datefield_value)
            elif self.vendor != "postgresql" and isinstance(field, models.DecimalField):
                result.append(lambda v: None if v is None else str(v))
            else:
                result.append(None)
        return result

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert ``rows`` (tuples in the order of ``fields``, attribute names like ``org_unit_id``)."""
        columns = [column_of(model._meta.get_field(f)) for f in fields]
        converters = self._converters(model, fields)
        active = [(i, c) for i, c in enumerate(converters) if c is not None]

        def prepared() -> Iterable[Sequence[Any]]:
            for row in rows:
                if active:
                    row = list(row)
                    for index, convert in active:
                        row[index] = convert(row[index])
                yield row

        table = model._meta.db_table
        count = 0
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                names = ", ".join(f'"{c}"' for c in columns)
                raw = cursor.cursor  # the psycopg 3 cursor behind Django's wrapper
                with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for row in prepared():
                        copy.write_row(row)
                        count += 1
            else:
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                batch: list[Sequence[Any]] = []
                for row in prepared():
                    batch.append(row)
                    if len(batch) >= 5000:
                        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
                        count += len(batch)
                        batch = []
                if batch:
                    cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
                    count += len(batch)
        return count


@contextmanager
def deferred_search_indexes(*migration_modules: str) -> Iterator[None]:
    """Drop the ``pg_trgm`` GIN search indexes for a large load (≥ 100,000 rows) and rebuild them after.

    Rebuilding a GIN index once is many times cheaper than maintaining it row by row during COPY. PostgreSQL
    only, and only outside a transaction (a demo build, not a user's import: dropping would lock the table
    for everyone). The indexes are those the given migrations create (``INDEXES``), rebuilt with
    ``CREATE INDEX IF NOT EXISTS`` so an interrupted load is repaired by running it again.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    modules = [import_module(name) for name in migration_modules]
    indexes = [(index, module.INDEX_SQL) for module in modules for index in module.INDEXES]
    with connection.cursor() as cursor:
        for (name, _table, _column), _sql in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for (name, table, column), sql in indexes:
                cursor.execute(sql.format(name=name, table=table, column=column))
            cursor.execute("RESET maintenance_work_mem")


#: Columns of a service point row as the bulk paths (demo, import) build it.
#: Column order of the bulk writers' customer, contact and account rows (demo and import build the same tuples).
CUSTOMER_COLUMNS = [
    "id",
    "number",
    "kind",
    "name",
    "id_type",
    "id_number",
    "org_unit_id",
    "address",
    "created_at",
]
CONTACT_COLUMNS = ["id", "customer_id", "name", "mobile", "role", "is_primary"]
ACCOUNT_COLUMNS = [
    "id",
    "number",
    "customer_id",
    "name",
    "org_unit_id",
    "billing_cycle",
    "payment_method",
    "is_key_account",
    "account_manager_id",
    "credit_rating",
    "status",
    "opened_on",
]
SERVICE_POINT_COLUMNS = [
    "id",
    "number",
    "account_id",
    "address",
    "org_unit_id",
    "voltage_level",
    "customer_class",
    "sub_class",
    "pf_standard",
    "area_class",
    "is_important",
    "tariff_code",
    "capacity_kva",
    "contracted_demand_kw",
    "expected_monthly_kwh",
    "metering_class",
]


def insert_service_points(
    writer: BulkWriter,
    points: Iterable[Sequence[Any]],
    *,
    tariffs: Iterable[Sequence[Any]],
    capacities: Iterable[Sequence[Any]],
    demands: Iterable[Sequence[Any]],
    classes: Iterable[Sequence[Any]],
) -> None:
    """Write service points and their first effective-dated periods (tariff, capacity, demand, class).

    Period rows are ``(service_point_id, valid_from, valid_to, created_at, value…)``; any iterable (a generator
    lets the rows be built while COPY streams them).
    """
    from gridcare.customers.models import (
        CapacityPeriod,
        ClassPeriod,
        DemandPeriod,
        ServicePoint,
        TariffAssignment,
    )

    writer.insert(ServicePoint, SERVICE_POINT_COLUMNS, points)
    period = ["service_point_id", "valid_from", "valid_to", "created_at"]
    writer.insert(TariffAssignment, [*period, "tariff_code"], tariffs)
    writer.insert(CapacityPeriod, [*period, "capacity_kva"], capacities)
    writer.insert(DemandPeriod, [*period, "contracted_demand_kw"], demands)
    writer.insert(ClassPeriod, [*period, "customer_class", "sub_class"], classes)
