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
