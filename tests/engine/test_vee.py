"""VEE (抄表数据有效性验证): one account per anomaly, rules as data, batch = account by account, estimation."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.engine.vee import DEFAULT_RULES, MESSAGES, Rule, VeeError, estimate, message, validate

NOV = date(2026, 11, 1)
OCT = date(2026, 10, 1)


def kwh(value: float) -> int:
    return round(value * 1000)


def read(account: int, register: str = "total", **values: Any) -> dict[str, Any]:
    """One batch row: a 6-digit register read on the 25th (the route's reading day), multiplier 1."""
    row: dict[str, Any] = {
        "account": account,
        "register": register,
        "period": NOV,
        "previous": kwh(1000),
        "current": kwh(1200),
        "digits": 6,
        "multiplier": 1,
        "read_day": date(2026, 11, 25),
        "reading_day": date(2026, 11, 25),
        "capacity": None,
        "hours": 720,
        "estimated": False,
        "remote_cycle": None,
    }
    row.update(values)
    return row


def past(
    account: int, period: date, quantity: float, multiplier: int = 1, register: str = "total"
) -> dict[str, Any]:
    return {
        "account": account,
        "register": register,
        "period": period,
        "quantity": kwh(quantity),
        "multiplier": multiplier,
    }


def batch(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"capacity": pl.Int64, "remote_cycle": pl.Int64})


def history(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "account": pl.Int64,
            "register": pl.String,
            "period": pl.Date,
            "quantity": pl.Int64,
            "multiplier": pl.Int64,
        },
    )


def rules_by_account(frame: pl.DataFrame) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for account, rule in frame.select("account", "rule").iter_rows():
        found.setdefault(account, set()).add(rule)
    return found


def months_before(n: int) -> date:
    index = NOV.year * 12 + NOV.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def worked_example() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accounts 1–12, one anomaly each; account 100 is normal (200 kWh, like every month before)."""
    rows = [
        read(100),
        read(1, previous=kwh(999_900), current=kwh(100)),  # rollover of a 6-digit register
        read(2, previous=kwh(5000), current=kwh(4990)),  # reverse running
        read(3, previous=kwh(1000), current=kwh(1000)),  # third zero month in a row
        read(4, previous=kwh(1000), current=kwh(1400)),  # 400 kWh after 200: +100 %
        read(5, previous=kwh(1000), current=kwh(30), exchanged=True, old_final=kwh(1150), new_initial=0),
        read(6, current=None, read_day=None),  # missing read
        read(7),  # TOU registers do not add up to the total
        read(7, "peak", previous=kwh(400), current=kwh(480)),
        read(7, "flat", previous=kwh(300), current=kwh(360)),
        read(7, "valley", previous=kwh(300), current=kwh(340)),
        read(8, "demand", previous=None, current=kwh(130), capacity=kwh(100)),  # 130 kW on 100 kVA
        read(9, read_day=date(2026, 11, 29)),  # read 4 days after the reading day
        read(10, multiplier=40, previous=kwh(1000), current=kwh(1005)),  # CT changed
        read(11, estimated=True, remote_cycle=2),  # estimated on a route switched to remote 2 cycles ago
        read(
            12, previous=kwh(1000), current=kwh(9000), capacity=kwh(10), hours=720
        ),  # 8 000 kWh > 10 kVA × 720 h
    ]
    past_rows = []
    for account in (100, 1, 2, 4, 5, 6, 7, 9, 11, 12):
        past_rows += [past(account, months_before(n), 200) for n in (1, 2, 3, 12)]
    past_rows += [past(3, months_before(n), 0) for n in (1, 2)] + [past(3, months_before(3), 150)]
    past_rows += [past(10, months_before(1), 200, multiplier=30)]
    return batch(rows), history(past_rows)


def test_one_account_per_anomaly(worked_example: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    reads, hist = worked_example
    result = validate(reads, hist)
    found = rules_by_account(result.frame)
    assert 100 not in found  # the normal account raises nothing
    assert found[1] == {"rollover"}
    assert found[2] == {"reverse_running"}
    assert found[3] == {"zero_consumption"}
    assert found[4] == {"surge_previous", "surge_last_year"}
    assert 5 not in found  # exchange mid-period: (1150 − 1000) + (30 − 0) = 180 kWh, within 30 % of 200
    assert found[6] == {"missing_read"}
    assert found[7] == {"tou_sum"}
    assert found[8] == {"demand_over_capacity"}
    assert found[9] == {"outside_window"}
    assert found[10] == {"multiplier_change"}
    assert found[11] == {"estimated_new_remote"}
    assert "energy_over_capacity" in found[12]
    quantity = dict(
        result.consumption.filter(pl.col("register") == "total").select("account", "quantity").iter_rows()
    )
    assert quantity[1] == kwh(200) and quantity[5] == kwh(180) and quantity[10] == kwh(5 * 40)


def test_severities_decide_what_blocks_billing(worked_example: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    reads, hist = worked_example
    result = validate(reads, hist)
    blocked_accounts = set(reads[result.blocked_rows().to_list()].get_column("account").to_list())
    assert blocked_accounts == {
        2,
        6,
        7,
        11,
    }  # reverse running, missing read, TOU sum, estimate on new remote route
    severities = dict(result.frame.select("rule", "severity").unique().iter_rows())
    assert severities["rollover"] == "warn" and severities["reverse_running"] == "block"


def test_messages_are_bilingual_and_show_the_numbers(
    worked_example: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    reads, hist = worked_example
    result = validate(reads, hist)
    keys = result.frame.select("rule", "account").rows()
    texts = {
        rule: text for (rule, account), text in zip(keys, result.messages(), strict=True) if account != 12
    }
    assert (
        texts["reverse_running"]
        == "倒走：本次示数低于上次，电量 -10 kWh (reverse running: reading below the previous one, -10 kWh)"
    )
    assert texts["surge_previous"].startswith("电量突变：400 kWh，上期 200 kWh")
    assert texts["outside_window"].startswith("超期抄表：偏离抄表例日 4 天")
    assert set(MESSAGES) == {rule.code for rule in DEFAULT_RULES}


def test_zero_needs_the_configured_number_of_cycles() -> None:
    reads = batch([read(3, previous=kwh(1000), current=kwh(1000))])
    two_zero_months = history([past(3, months_before(1), 0), past(3, months_before(2), 0)])
    one_zero_month = history([past(3, months_before(1), 0), past(3, months_before(2), 80)])
    assert "zero_consumption" in validate(reads, two_zero_months).frame.get_column("rule").to_list()
    assert "zero_consumption" not in validate(reads, one_zero_month).frame.get_column("rule").to_list()
    two_cycles = [Rule("zero_consumption", "warn", {"cycles": 2})]
    assert validate(reads, one_zero_month, two_cycles).frame.get_column("rule").to_list() == [
        "zero_consumption"
    ]


def test_surge_floor_keeps_tiny_accounts_out_of_the_queue() -> None:
    # 30 kWh after 10 kWh is +200 %, but below the 100 kWh floor
    reads = batch([read(20, previous=kwh(1000), current=kwh(1030))])
    hist = history([past(20, months_before(1), 10)])
    assert validate(reads, hist).frame.height == 0
    no_floor = [Rule("surge_previous", "warn", {"floor_kwh": 0})]
    assert validate(reads, hist, no_floor).frame.get_column("rule").to_list() == ["surge_previous"]


def test_drop_is_a_surge_too() -> None:
    reads = batch([read(21, previous=kwh(1000), current=kwh(1100))])
    hist = history([past(21, months_before(1), 300)])
    assert validate(reads, hist).frame.get_column("rule").to_list() == ["surge_previous"]


def test_rules_left_out_are_not_checked(worked_example: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    reads, hist = worked_example
    only_missing = [Rule("missing_read", "warn")]
    frame = validate(reads, hist, only_missing).frame
    assert frame.select("account", "rule", "severity").rows() == [(6, "missing_read", "warn")]


def test_rollover_threshold_comes_from_the_reverse_rule() -> None:
    reads = batch([read(22, previous=kwh(700_000), current=kwh(200_000))])  # a drop of 50 % of the range
    assert validate(reads).frame.get_column("rule").to_list() == ["reverse_running"]
    lenient = [Rule("reverse_running", "block", {"rollover_drop_pct": 40}), Rule("rollover", "warn")]
    assert validate(reads, None, lenient).frame.get_column("rule").to_list() == ["rollover"]


def test_bad_readings_are_rejected_per_row_not_crashing() -> None:
    reads = batch(
        [
            read(30, current=kwh(1_000_000)),  # 7 digits on a 6-digit register
            read(31, previous=-5),
            read(32, digits=0),
            read(33, exchanged=True, old_final=None, new_initial=None),
            read(34),
        ]
    )
    frame = validate(reads).frame
    assert rules_by_account(frame) == {a: {"read_out_of_range"} for a in (30, 31, 32, 33)}
    assert frame.get_column("severity").unique().to_list() == ["block"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda f: f.with_columns(pl.lit(1).alias("colour")), r"unknown columns\): colour"),
        (lambda f: f.drop("digits"), r"missing columns\): digits"),
        (lambda f: f.with_columns(pl.lit("x").alias("current")), "wrong type"),
    ],
)
def test_malformed_batch_is_refused_whole(change: Any, error: str) -> None:
    with pytest.raises(VeeError, match=error):
        validate(change(batch([read(40)])))


def test_unknown_rules_and_parameters_are_refused() -> None:
    reads = batch([read(41)])
    with pytest.raises(VeeError, match="unknown rule"):
        validate(reads, None, [Rule("moon_phase", "warn")])
    with pytest.raises(VeeError, match="unknown parameters"):
        validate(reads, None, [Rule("zero_consumption", "warn", {"cylces": 3})])
    with pytest.raises(VeeError, match="severity"):
        validate(reads, None, [Rule("zero_consumption", "info")])  # type: ignore[arg-type]


def test_message_without_numbers() -> None:
    assert message("missing_read") == "缺抄：本期无示数 (missing read: no reading this period)"


account_rows = st.builds(
    lambda account, previous, advance, last, zero_run, multiplier, late, estimated: (
        [
            read(
                account,
                previous=previous,
                current=(previous + advance) % 10**9,
                multiplier=multiplier,
                read_day=date(2026, 11, 25 + late),
                estimated=estimated,
                remote_cycle=1 if estimated else None,
            )
        ],
        [past(account, months_before(n + 1), 0) for n in range(zero_run)]
        + [past(account, months_before(zero_run + 1), last, multiplier=multiplier + (account % 2))],
    ),
    st.integers(1, 10**6),
    st.integers(0, 10**9 - 1),
    st.integers(-50_000, 5_000_000),
    st.integers(0, 5000),
    st.integers(0, 3),
    st.integers(1, 50),
    st.integers(-3, 3),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(account_rows, min_size=1, max_size=8, unique_by=lambda a: a[0][0]["account"]))
def test_batch_validate_equals_account_by_account(
    accounts: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]],
) -> None:
    rows = [row for reads, _ in accounts for row in reads]
    hist = history([row for _, past_rows in accounts for row in past_rows])
    whole = validate(batch(rows), hist).frame
    expected = set()
    for reads, past_rows in accounts:
        single = validate(batch(reads), history(past_rows)).frame
        expected |= {
            (reads[0]["account"], rule, value) for rule, value in single.select("rule", "value").iter_rows()
        }
    assert set(whole.select("account", "rule", "value").iter_rows()) == expected


def test_estimates_are_flagged_and_use_the_history() -> None:
    hist = history(
        [past(50, months_before(n), q) for n, q in ((1, 100), (2, 110), (3, 121), (4, 500), (12, 90))]
        + [past(51, months_before(1), 100.0005 - 0.0005)]
    )
    keys = pl.DataFrame({"account": [50, 51, 52], "register": ["total"] * 3, "period": [NOV] * 3})
    average = estimate(keys, hist, "average_last_three")
    assert average.get_column("quantity").to_list() == [kwh(110.333), kwh(100), None]
    assert average.get_column("estimated").all()
    last_year = estimate(keys, hist, "same_period_last_year")
    assert last_year.get_column("quantity").to_list() == [kwh(90), None, None]
    totals = pl.DataFrame({"account": [52], "register": ["total"], "period": [NOV], "quantity": [kwh(321.5)]})
    from_interval = estimate(keys, hist, "interval", interval_totals=totals)
    assert from_interval.get_column("quantity").to_list() == [None, None, kwh(321.5)]
    assert from_interval.get_column("method").unique().to_list() == ["interval"]
    with pytest.raises(VeeError, match="unknown estimation method"):
        estimate(keys, hist, "guess")


def test_empty_batch_gives_no_exceptions() -> None:
    result = validate(batch([read(1)]).clear())
    assert result.frame.height == 0 and result.consumption.height == 0


def test_unknown_register_is_refused() -> None:
    with pytest.raises(VeeError, match=r"unknown registers\): apparent"):
        validate(batch([read(1, "apparent")]))
