"""Document numbers from database sequences — the one numbering mechanism of every app.

A :class:`Counter` draws values from a PostgreSQL sequence (``nextval`` never blocks concurrent writers and is
not rolled back, so two requests never get one value; a rolled-back write leaves a gap) and, on other databases,
from a row of :class:`~gridcare.core.models.NumberCounter` (SQLite serialises writers anyway). The sequence is
created by the owning app's migration (:func:`create_sequence`). :func:`next_number` turns a value into
``prefix`` + zero-padded digits and steps over numbers already taken by hand (imports, the demo), so it never
answers with a number that exists — where ``max + 1`` used to give two concurrent requests the same one.
Work-order numbers (:mod:`gridcare.service.numbering`), customer and account numbers use it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import F

from gridcare.core.models import NumberCounter
from gridcare.core.rows import TableRef, fetch_one


@dataclass(frozen=True)
class Counter:
    name: str  # the NumberCounter row (other databases)
    sequence: str  # the PostgreSQL sequence

    def next(self) -> int:
        if connection.vendor == "postgresql":  # prepared once per connection: a hot path (receipts)
            row = fetch_one("SELECT nextval(%s)", [self.sequence])
            assert row is not None
            return int(row[0])
        if not NumberCounter.objects.filter(name=self.name).update(value=F("value") + 1):
            NumberCounter.objects.create(name=self.name, value=1)
        return int(NumberCounter.objects.filter(name=self.name).values_list("value", flat=True)[0])

    def take(self, count: int) -> list[int]:
        """``count`` values at once (a bulk import): unique, increasing, not necessarily consecutive."""
        if count <= 0:
            return []
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, count])
                return sorted(int(row[0]) for row in cursor.fetchall())
        if not NumberCounter.objects.filter(name=self.name).update(value=F("value") + count):
            NumberCounter.objects.create(name=self.name, value=count)
        last = int(NumberCounter.objects.filter(name=self.name).values_list("value", flat=True)[0])
        return list(range(last - count + 1, last + 1))

    def advance_to(self, value: int) -> None:
        """Make the next value greater than ``value`` (never moves the counter back).

        On PostgreSQL the sequence is set only when it is behind ``value`` (numbers given by hand ahead of it):
        setting it to a value read a moment before — ``GREATEST(value, last_value)`` — moved it back past the
        values another connection drew in between, and those were drawn twice (two chunks of a file's posting
        drawing receipt numbers at once hit it)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT setval(%s, %s) FROM {connection.ops.quote_name(self.sequence)} WHERE last_value < %s",
                    [self.sequence, value, value],
                )
            return
        NumberCounter.objects.get_or_create(name=self.name)
        NumberCounter.objects.filter(name=self.name, value__lt=value).update(value=value)


def next_number(
    counter: Counter, model: type[models.Model], prefix: str, width: int, field: str = "number"
) -> str:
    """A new number ``prefix`` + ``width`` digits for ``model.field`` from ``counter``.

    If the value is taken (numbers given by hand), the counter jumps past the highest number of that form once
    and draws again: one indexed look-up per number in the common case."""
    if (
        connection.vendor == "postgresql"
    ):  # draw and check in one prepared statement (a round trip per receipt)
        row = fetch_one(_draw_sql(model, field), [prefix, width, width, counter.sequence, 1])
        assert row is not None
        number = f"{prefix}{int(row[0]):0{width}d}"
        if not row[1]:
            return number
    else:
        number = f"{prefix}{counter.next():0{width}d}"
        if fetch_one(_taken_sql(model, field), [number]) is None:
            return number
    last = _highest(model, prefix, width, field)
    if last is not None:
        counter.advance_to(last)
    return f"{prefix}{counter.next():0{width}d}"


@functools.cache
def _taken_sql(model: type[models.Model], field: str) -> str:
    """Whether a number is taken: built once per model (the ORM would compile the ``exists()`` every time)."""
    ref = TableRef(model)
    return f"SELECT 1 FROM {ref} WHERE {getattr(ref, field)} = %s"


@functools.cache
def _draw_sql(model: type[models.Model], field: str) -> str:
    """``count`` values of the counter, each with whether ``prefix`` + its zero-padded digits is taken
    (PostgreSQL)."""
    ref = TableRef(model, "t")
    digits = "CASE WHEN length(s.v::text) < %s THEN lpad(s.v::text, %s, '0') ELSE s.v::text END"
    return (
        f"SELECT s.v, EXISTS (SELECT 1 FROM {ref} WHERE {getattr(ref, field)} = %s || {digits}) "
        "FROM (SELECT nextval(%s) AS v FROM generate_series(1, %s)) s ORDER BY s.v"
    )


def draw_numbers(
    counter: Counter, model: type[models.Model], prefix: str, width: int, count: int, field: str = "number"
) -> list[str]:
    """:func:`next_number` for a few at once (a group of channel payments): drawn and checked in one statement
    on PostgreSQL — an indexed look-up per number instead of :func:`reserve_numbers`' search for the highest
    number of the form, which it falls back to if one is taken (numbers given by hand) and elsewhere."""
    if connection.vendor != "postgresql" or count == 0:
        return reserve_numbers(counter, model, prefix, width, count, field)
    with connection.cursor() as cursor:
        cursor.execute(_draw_sql(model, field), [prefix, width, width, counter.sequence, count])
        rows = cursor.fetchall()
    if any(taken for _, taken in rows):
        return reserve_numbers(counter, model, prefix, width, count, field)
    return [f"{prefix}{int(value):0{width}d}" for value, _ in rows]


def reserve_numbers(
    counter: Counter, model: type[models.Model], prefix: str, width: int, count: int, field: str = "number"
) -> list[str]:
    """``count`` new numbers for a bulk write: the counter first jumps past the highest number of that form
    (numbers given by hand), then hands out the values — never ones a concurrent registration also gets."""
    last = _highest(model, prefix, width, field)
    if last is not None:
        counter.advance_to(last)
    return [f"{prefix}{value:0{width}d}" for value in counter.take(count)]


def _highest(model: type[models.Model], prefix: str, width: int, field: str) -> int | None:
    manager: Any = model._default_manager
    last = (
        manager.filter(
            **{f"{field}__startswith": prefix, f"{field}__regex": rf"^{re.escape(prefix)}\d{{{width}}}$"}
        )
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    return int(last[len(prefix) :]) if last else None


def create_sequence(sequence: str) -> Any:
    """A migration operation creating ``sequence`` on PostgreSQL (nothing elsewhere)."""
    from django.db import migrations

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {schema_editor.quote_name(sequence)}", None)

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP SEQUENCE IF EXISTS {schema_editor.quote_name(sequence)}", None)

    return migrations.RunPython(forward, backward, elidable=False)
