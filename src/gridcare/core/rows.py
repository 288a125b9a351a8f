"""Single-row reads and writes on request hot paths, without the ORM's per-call query compilation.

The ORM rebuilds its SQL on every call (a millisecond or so of CPU for a join); on the paths every API call
takes — authentication, the audit row, the idempotency record — that is most of the cost. The SQL here is
built once per process from the models' own field definitions, and values go through the fields' own
conversions, so what is stored and loaded is exactly what the ORM would store and load.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import ForeignObjectRel

M = TypeVar("M", bound=models.Model)
if TYPE_CHECKING:  # Django's Field is generic only in its type stubs
    AnyField: TypeAlias = models.Field[Any, Any]


def database() -> BaseDatabaseWrapper:
    """The default database's wrapper itself: ``django.db.connection`` is a proxy that looks the wrapper up
    again on every attribute access, which adds up on a path touching it dozens of times."""
    return connections[DEFAULT_DB_ALIAS]


_PLACEHOLDER = re.compile(r"%s")


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """``%s`` placeholders → ``$1, $2, …`` (PostgreSQL's own parameters)."""
    counter = iter(range(1, sql.count("%s") + 1))
    return _PLACEHOLDER.sub(lambda _match: f"${next(counter)}", sql)


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run one hot-path statement (``%s`` placeholders, no literal ``%``) and return its first row.

    On PostgreSQL the statement is prepared once per connection and then only executed: no parsing of the SQL
    in Python (client-side binding) and no planning in the server on each call. It runs in the current
    transaction, and is logged like any other query when queries are being recorded (tests, DEBUG).
    """
    db = database()
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            first: tuple[Any, ...] | None = cursor.fetchone()
            return first
    import psycopg

    db.ensure_connection()
    started = time.monotonic()
    with db.wrap_database_errors, psycopg.RawCursor(db.connection) as cursor:  # Django's exception classes
        cursor.execute(_numbered(sql), params, prepare=True)
        row = cursor.fetchone()
    if db.queries_logged:
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """:func:`fetch_one` for a statement answering several rows (all of them)."""
    db = database()
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    import psycopg

    db.ensure_connection()
    started = time.monotonic()
    with db.wrap_database_errors, psycopg.RawCursor(db.connection) as cursor:
        cursor.execute(_numbered(sql), params, prepare=True)
        rows = cursor.fetchall()
    if db.queries_logged:
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def column_of(field: AnyField | ForeignObjectRel) -> str:
    """The column of a concrete field (Django types it optional: fields without one are never concrete)."""
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise ImproperlyConfigured(f"{field} has no column")
    return column


@functools.cache
def _insert_sql(model: type[models.Model], vendor: str) -> tuple[str, tuple[AnyField, ...]]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    pk = model._meta.pk
    assert pk is not None
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(column_of(f)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(column_of(pk))}"
    )
    return sql, fields


@functools.cache
def _passthrough(field: AnyField) -> type | None:
    """The Python type a field stores unchanged (str, int, bool), or None if its values need conversion."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.BooleanField):
        return bool
    if isinstance(target, (models.CharField, models.TextField)) and not isinstance(target, models.EmailField):
        return str
    if isinstance(target, (models.IntegerField, models.AutoField)):
        return int
    return None


def db_values(instance: models.Model, fields: Sequence[AnyField], db: BaseDatabaseWrapper) -> list[Any]:
    """The values of ``fields`` as the database gets them — ``get_db_prep_save`` of each field, skipped for
    text, integers, booleans (and their nulls), which it returns unchanged: a dozen calls per value saved."""
    values = []
    for field in fields:
        value = getattr(instance, field.attname)
        plain = _passthrough(field)
        if type(value) is plain or (value is None and plain is not None):
            values.append(value)
        else:
            values.append(field.get_db_prep_save(value, db))
    return values


def insert_row(instance: M) -> M:
    """INSERT one new instance (auto primary key) and set its pk — ``save()`` without signals or compilation."""
    db = database()
    sql, fields = _insert_sql(type(instance), db.vendor)
    for field in fields:
        field.pre_save(instance, True)  # auto_now(_add) stamps
    params = db_values(instance, fields, db)
    row = fetch_one(sql, params)
    assert row is not None
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return instance


@functools.cache
def _insert_many_sql(model: type[models.Model], vendor: str) -> tuple[str, tuple[AnyField, ...]]:
    """One statement for any number of rows: each column an array parameter, the rows ``unnest``-ed (the ids
    come back in the rows' order)."""
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    pk = model._meta.pk
    assert pk is not None
    arrays = ", ".join(
        f"%s::{f.rel_db_type(connection) if f.is_relation else f.db_type(connection)}[]" for f in fields
    )
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(column_of(f)) for f in fields)}) "
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(column_of(pk))}"
    )
    return sql, fields


def insert_rows(instances: Sequence[M]) -> Sequence[M]:
    """INSERT new instances of one model (auto primary keys) and set their pks — :func:`insert_row` for many: on
    PostgreSQL one prepared statement whatever their number, elsewhere ``bulk_create``."""
    if not instances:
        return instances
    db = database()
    model = type(instances[0])
    if db.vendor != "postgresql":
        return model._default_manager.bulk_create(instances)
    sql, fields = _insert_many_sql(model, db.vendor)
    columns: list[list[Any]] = [[] for _ in fields]
    for instance in instances:
        for field in fields:
            field.pre_save(instance, True)
        for column, value in zip(columns, db_values(instance, fields, db), strict=True):
            column.append(value)
    for instance, (pk,) in zip(instances, fetch_all(sql, columns), strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = db.alias
    return instances


def select_columns(model: type[models.Model], alias: str) -> str:
    """``alias."col", …`` for every concrete field of ``model``, in the order :func:`from_row` expects."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(column_of(f))}" for f in model._meta.concrete_fields)


@functools.cache
def _converters(model: type[models.Model], vendor: str) -> tuple[list[str], list[tuple[list[Any], Any]]]:
    """Attribute names and (converters, expression) per concrete field — backend and field converters, as
    the ORM applies them when it reads a row."""
    names: list[str] = []
    plan: list[tuple[list[Any], Any]] = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        names.append(field.attname)
        plan.append((connection.ops.get_db_converters(column) + column.get_db_converters(connection), column))
    return names, plan


def from_row(model: type[M], values: Sequence[object]) -> M:
    """A model instance from the values of a row selected with :func:`select_columns`."""
    db = database()
    names, plan = _converters(model, db.vendor)
    converted = []
    for value, (converters, expression) in zip(values, plan, strict=True):
        for converter in converters:
            value = converter(value, expression, db)
        converted.append(value)
    return model.from_db(db.alias, names, converted)


class TableRef:
    """A model's quoted SQL names for a hand-written statement, taken from the model's metadata.

    ``str(ref)`` is the table (with its alias), and each field — by name or attname — is an attribute
    holding its column (qualified by the alias), so a statement reads as SQL and never spells a table or
    column name that a model could change::

        sp, a = TableRef(ServicePoint, "sp"), TableRef(Account, "a")
        "SELECT {sp.id}, {a.customer_id} FROM {sp} JOIN {a} ON {a.id} = {sp.account_id}".format(sp=sp, a=a)
    """

    def __init__(self, model: type[models.Model], alias: str = "") -> None:
        quote = connection.ops.quote_name
        prefix = f"{alias}." if alias else ""
        self._table = quote(model._meta.db_table) + (f" {alias}" if alias else "")
        self._columns: dict[str, str] = {}
        for field in model._meta.concrete_fields:
            self._columns[field.name] = self._columns[field.attname] = prefix + quote(column_of(field))

    def __str__(self) -> str:
        return self._table

    def __format__(self, spec: str) -> str:
        return format(self._table, spec)

    def __getattr__(self, name: str) -> str:
        columns: dict[str, str] = self.__dict__["_columns"]  # not self._columns: no recursion before __init__
        try:
            return columns[name]
        except KeyError:
            raise AttributeError(name) from None
