"""core.frames: set-based reads into Polars — decimals come back exact as scaled integers on both databases."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcare.core.frames import query_frame, scaled, scaled_sql, scaled_text

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


def _backend_queries(count: int) -> dict[str, object]:
    from gridcare.core.frames import FrameQuery

    # each query waits a moment, so a second connection (if any) takes the next one meanwhile
    return {
        f"q{n}": FrameQuery(
            "SELECT pg_backend_pid(), %s FROM pg_sleep(0.3)", [n], {"pid": pl.Int64, "n": pl.Int64}
        )
        for n in range(count)
    }


@pytest.mark.django_db(transaction=True)
def test_query_frames_share_the_queries_between_two_connections() -> None:
    """Given a transaction that has written nothing, then the queries run on two backends at once, and the
    frames come back by name, each as query_frame gives it."""
    from django.db import connection, transaction

    from gridcare.core.frames import query_frames

    if connection.vendor != "postgresql":
        frames = query_frames({"a": _plain_query(1), "b": _plain_query(2)}, connections=2)
        assert [frames[k].rows() for k in ("a", "b")] == [[(1,)], [(2,)]]
        return
    with transaction.atomic():
        frames = query_frames(_backend_queries(4), connections=2)  # type: ignore[arg-type]
    assert list(frames) == ["q0", "q1", "q2", "q3"]
    assert [frame.get_column("n").to_list() for frame in frames.values()] == [[0], [1], [2], [3]]
    pids = {frame.item(0, "pid") for frame in frames.values()}
    assert len(pids) == 2  # this connection and one helper


def _plain_query(n: int) -> object:
    from gridcare.core.frames import FrameQuery

    return FrameQuery("SELECT %s", [n], {"n": pl.Int64})


def test_query_frames_after_a_write_see_it_on_the_callers_connection() -> None:
    """Given a transaction that has written a row, then every query runs on the caller's connection (a helper
    could not see the uncommitted row)."""
    from django.db import connection

    from gridcare.core.frames import FrameQuery, query_frames
    from gridcare.core.models import AuditEntry
    from gridcare.core.rows import TableRef

    before = AuditEntry.objects.count()
    AuditEntry.objects.create(action="test.frames", object_type="x", object_id="1")
    a = TableRef(AuditEntry)
    count = FrameQuery(f"SELECT count(*) FROM {a}", [], {"n": pl.Int64})
    queries = {"first": count, "second": count}
    if connection.vendor == "postgresql":
        queries.update(_backend_queries(2))  # type: ignore[arg-type]
    frames = query_frames(queries, connections=2)
    assert frames["first"].rows() == frames["second"].rows() == [(before + 1,)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own = cursor.fetchone()[0]
        assert {frames[k].item(0, "pid") for k in ("q0", "q1")} == {own}


@pytest.mark.django_db(transaction=True)
def test_query_frames_failure_on_either_connection_is_a_database_error() -> None:
    """Given a query that fails (on whichever connection takes it), then a database error is raised, the
    helper is closed and the caller's connection stays usable."""
    from django.db import DatabaseError, transaction

    from gridcare.core.frames import FrameQuery, query_frame, query_frames

    broken = FrameQuery("SELECT 1 FROM no_such_table_here", [], {"n": pl.Int64})
    for queries in ({"bad": broken, "good": _plain_query(1)}, {"good": _plain_query(1), "bad": broken}):
        with pytest.raises(DatabaseError), transaction.atomic():
            query_frames(queries, connections=2)  # type: ignore[arg-type]
    assert query_frame("SELECT 2", [], {"n": pl.Int64}).rows() == [(2,)]


@given(
    st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=1, max_size=50),
    st.integers(min_value=1, max_value=4),
)
def test_scaled_text_is_the_exact_decimal_of_the_integer(values: list[int], places: int) -> None:
    texts = pl.DataFrame({"v": values}).select(scaled_text("v", places)).to_series().to_list()
    assert texts == [f"{Decimal(v).scaleb(-places):.{places}f}" for v in values]
