"""core.frames: set-based reads into Polars — decimals come back exact as scaled integers on both databases."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from gridcare.core.frames import query_frame, scaled, scaled_sql

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("123.45"), 123_450),
        (Decimal("-5.000"), -5_000),
        (Decimal("12"), 12_000),
        (Decimal("0.001"), 1),
        (Decimal("99999999999.999"), 99_999_999_999_999),
        (None, None),
    ],
)
def test_scaled_column_is_exact_integer_in_units(value: Decimal | None, expected: int | None) -> None:
    column = "CAST(%s AS NUMERIC(18, 3))"
    frame = query_frame(
        f"SELECT 7, {scaled_sql(column, 3)}", [value], {"id": pl.Int64, "quantity": scaled(3)}
    )
    assert frame.schema == pl.Schema({"id": pl.Int64, "quantity": pl.Int64})
    assert frame.rows() == [(7, expected)]


def test_empty_result_keeps_integer_schema() -> None:
    frame = query_frame(
        f"SELECT 1, {scaled_sql('CAST(1 AS NUMERIC(18, 3))', 3)} WHERE 1 = 0",
        [],
        {"id": pl.Int64, "quantity": scaled(3)},
    )
    assert frame.height == 0
    assert frame.schema == pl.Schema({"id": pl.Int64, "quantity": pl.Int64})


def test_query_frame_binds_text_parameters_exactly() -> None:
    frame = query_frame("SELECT %s, %s", ["it's 100% «引号» \\ done", 5], {"text": pl.String, "n": pl.Int64})
    assert frame.rows() == [("it's 100% «引号» \\ done", 5)]


def test_query_frame_error_is_a_database_error_and_the_connection_stays_usable() -> None:
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        query_frame("SELECT 1 FROM no_such_table_here", [], {"n": pl.Int64})
    assert query_frame("SELECT 2", [], {"n": pl.Int64}).rows() == [(2,)]


def test_query_frame_sees_the_transactions_own_uncommitted_rows() -> None:
    from gridcare.core.models import AuditEntry
    from gridcare.core.rows import TableRef

    before = AuditEntry.objects.count()
    AuditEntry.objects.create(action="test.frames", object_type="x", object_id="1")
    a = TableRef(AuditEntry)
    frame = query_frame(f"SELECT count(*) FROM {a}", [], {"n": pl.Int64})
    assert frame.rows() == [(before + 1,)]


def _reference_join(frame: pl.DataFrame, table: pl.DataFrame, key: str) -> pl.DataFrame:
    return frame.join(table, on=key, how="inner", maintain_order="left")


@pytest.mark.parametrize(
    "keys",
    [
        [3, 1, 2, 9, 1, 7],  # dense ids: the array look-up; 7 and 9 have no row in the table
        [3, 1, 2, 10**12, 1],  # sparse: the hash join
        [-1, 1, 2],  # negative: the hash join
    ],
)
def test_attach_is_an_order_keeping_inner_join(keys: list[int]) -> None:
    from gridcare.core.frames import attach

    frame = pl.DataFrame({"id": keys, "n": list(range(len(keys)))}, schema={"id": pl.Int64, "n": pl.Int64})
    table = pl.DataFrame(
        {"id": [1, 2, 3, 10**12, -1], "name": ["a", "b", "c", "d", "e"], "size": [10, None, 30, 40, 50]},
        schema={"id": pl.Int64, "name": pl.String, "size": pl.Int64},
    )
    assert attach(frame, table, "id").equals(_reference_join(frame, table, "id"))


def test_attach_with_a_key_twice_in_the_table_multiplies_like_a_join() -> None:
    from gridcare.core.frames import attach

    frame = pl.DataFrame({"id": [1, 2]}, schema={"id": pl.Int64})
    table = pl.DataFrame({"id": [1, 1, 2], "v": [1, 2, 3]}, schema={"id": pl.Int64, "v": pl.Int64})
    assert attach(frame, table, "id").sort("id", "v").rows() == [(1, 1), (1, 2), (2, 3)]
    assert attach(frame.clear(), table, "id").height == 0
