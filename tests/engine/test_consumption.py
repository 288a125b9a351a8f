"""Consumption of a reading period (抄见电量): rollover, reverse running, meter exchange, multiplier — exact."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcare.engine.consumption import ConsumptionError, consumption, reads_out_of_range, register_range


def kwh(value: float) -> int:
    """kWh → the engine's 0.001-unit integer (test data only)."""
    return round(value * 1000)


def test_plain_difference_times_multiplier() -> None:
    # given a register read 1 234.5 then 1 334.5 on a CT 200/5 × PT 10000/100 installation (倍率 4000)
    result = consumption(np.array([kwh(1234.5)]), np.array([kwh(1334.5)]), 5, 4000)
    # then the period used 100 × 4000 = 400 000 kWh, exactly
    assert result.quantity.tolist() == [kwh(400_000)]
    assert result.advance.tolist() == [kwh(100)]
    assert not result.rolled_over.any() and not result.reverse.any()


def test_rollover_at_the_register_digits() -> None:
    # given a 5-digit register that went from 99 990 to 20: it wrapped past 99 999
    result = consumption(np.array([kwh(99_990)]), np.array([kwh(20)]), 5, 1)
    assert result.quantity.tolist() == [kwh(30)]
    assert result.rolled_over.tolist() == [True]
    assert result.reverse.tolist() == [False]


def test_small_drop_is_reverse_running_not_rollover() -> None:
    # given a reading 1 000 kWh below the previous one on a 5-digit register (far less than half its range)
    result = consumption(np.array([kwh(5000)]), np.array([kwh(4000)]), 5, 10)
    # then it is 倒走: kept negative so VEE blocks it, never turned into 99 000 kWh
    assert result.quantity.tolist() == [kwh(-10_000)]
    assert result.reverse.tolist() == [True]
    assert result.rolled_over.tolist() == [False]


def test_rollover_threshold_is_a_parameter() -> None:
    previous, current = np.array([kwh(60_000)]), np.array([kwh(20_000)])  # a drop of 40 % of the range
    assert consumption(previous, current, 5, 1).reverse.tolist() == [True]
    lenient = consumption(previous, current, 5, 1, rollover_fraction=Fraction(3, 10))
    assert lenient.rolled_over.tolist() == [True]
    assert lenient.quantity.tolist() == [kwh(60_000)]


def test_meter_exchange_inside_the_period() -> None:
    # given the old meter read 1 000 last month and 1 150 at removal (multiplier 20),
    # and the new meter installed at 0.5 and read 80.5 (multiplier 30)
    result = consumption(
        np.array([kwh(1000)]),
        np.array([kwh(80.5)]),
        6,
        30,
        exchanged=np.array([True]),
        old_final=np.array([kwh(1150)]),
        new_initial=np.array([kwh(0.5)]),
        old_multiplier=20,
        old_digits=5,
    )
    # then (1150 − 1000) × 20 + (80.5 − 0.5) × 30
    assert result.quantity.tolist() == [kwh(150 * 20 + 80 * 30)]
    assert result.advance.tolist() == [kwh(230)]


def test_exchange_with_old_meter_rollover() -> None:
    result = consumption(
        np.array([kwh(9_990)]),
        np.array([kwh(5)]),
        4,
        1,
        exchanged=np.array([True]),
        old_final=np.array([kwh(10)]),
        new_initial=np.array([0]),
    )
    assert result.quantity.tolist() == [kwh(20 + 5)]
    assert result.rolled_over.tolist() == [True]


def test_vectorised_rows_are_independent() -> None:
    result = consumption(
        np.array([kwh(100), kwh(99_999), kwh(50)]),
        np.array([kwh(150), kwh(1), kwh(40)]),
        np.array([5, 5, 5]),
        np.array([1, 2, 3]),
    )
    assert result.quantity.tolist() == [kwh(50), kwh(2 * 2), kwh(-30)]
    assert result.rolled_over.tolist() == [False, True, False]
    assert result.reverse.tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("previous", "current", "digits", "multiplier", "message"),
    [
        (kwh(100), kwh(100_000), 5, 1, "more digits"),  # 6 digits on a 5-digit register
        (-1, kwh(10), 5, 1, "negative"),
        (kwh(1), kwh(2), 0, 1, "digits must be"),
        (kwh(1), kwh(2), 5, 0, "multiplier must be"),
    ],
)
def test_impossible_reads_are_refused_with_the_row(
    previous: int, current: int, digits: int, multiplier: int, message: str
) -> None:
    with pytest.raises(ConsumptionError, match=message) as raised:
        consumption(np.array([kwh(1), previous]), np.array([kwh(2), current]), digits, multiplier)
    assert "rows 1" in str(raised.value) or "rows 0" in str(raised.value)


def test_float_reads_are_refused() -> None:
    with pytest.raises(ConsumptionError, match="scaled integers"):
        consumption(np.array([1.5]), np.array([2.5]), 5, 1)


def test_exchange_without_its_reads_is_refused() -> None:
    with pytest.raises(ConsumptionError, match="old_final"):
        consumption(np.array([1]), np.array([2]), 5, 1, exchanged=np.array([True]))


def test_overflowing_multiplier_is_refused_not_wrapped() -> None:
    with pytest.raises(ConsumptionError, match="overflows"):
        consumption(np.array([0]), np.array([register_range(10) - 1]), 10, 10**8)


def test_reads_out_of_range_marks_each_record() -> None:
    assert reads_out_of_range(np.array([-1, 0, kwh(99_999.999), kwh(100_000)]), 5).tolist() == [
        True,
        False,
        False,
        True,
    ]


@given(
    digits=st.integers(1, 8),
    data=st.data(),
    multiplier=st.integers(1, 10_000),
)
def test_consumption_with_rollover_is_never_negative_unless_reverse(
    digits: int, data: st.DataObject, multiplier: int
) -> None:
    span = 10 ** (digits + 3)
    previous = data.draw(st.integers(0, span - 1))
    current = data.draw(st.integers(0, span - 1))
    result = consumption(np.array([previous]), np.array([current]), digits, multiplier)
    if result.reverse[0]:
        assert result.quantity[0] < 0 and 2 * (previous - current) <= span
    else:
        assert 0 <= result.quantity[0] < span * multiplier
        # the advance brings the previous reading to the current one modulo the register range
        assert (previous + int(result.advance[0])) % span == current


@given(
    st.lists(
        st.tuples(st.integers(0, 99_999_999), st.integers(0, 99_999_999), st.integers(1, 500)), min_size=1
    )
)
def test_batch_equals_row_by_row(rows: list[tuple[int, int, int]]) -> None:
    previous, current, multiplier = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    batch = consumption(previous, current, 5, multiplier)
    for i, (p, c, m) in enumerate(rows):
        single = consumption(np.array([p]), np.array([c]), 5, m)
        assert batch.quantity[i] == single.quantity[0]
        assert batch.reverse[i] == single.reverse[0]


def test_reading_engine_imports_no_django() -> None:
    # the readings app and distributed workers call these modules; they must stay pure
    code = (
        "import sys, gridcare.engine.consumption, gridcare.engine.vee, gridcare.engine.interval_store; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert output.stdout.strip() == "[]"
