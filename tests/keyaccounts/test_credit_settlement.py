"""Credit features from the ledger's settlement record (结清记录) are those derived from the allocations: random
ledgers — bills paid on time, late, in parts, after the scored month, never; payments reversed (undo rows dated
by the payment's day, the reversal settled from the payment) — scored against the allocation-derived reference
(the query the features ran before the record existed), and the record itself against the allocations."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.db import connection

MONTHS = ["2026-10", "2026-09", "2026-06"]


def reference_ledger_features(account_ids: Any, period: Any) -> dict[str, Any]:
    """The ledger features as computed before the settlement record (the query of the previous version, with
    the sums rounded to the 分): every debit derived from its allocations (joined to their credit entries) each
    time — the reference the recorded settlement must reproduce."""
    from gridcare.core.frames import query_frame, scaled, scaled_sql
    from gridcare.core.rows import TableRef
    from gridcare.keyaccounts.conf import conf
    from gridcare.keyaccounts.credit import DEBIT_KINDS, _align, _days
    from gridcare.ledger.models import Allocation, Entry

    e, d, c, a = TableRef(Entry), TableRef(Entry, "d"), TableRef(Entry, "c"), TableRef(Allocation, "al")
    kinds = ", ".join(f"'{kind}'" for kind in DEBIT_KINDS)
    # per debit: what was settled by the evaluation date, what by its due date, and the last settling day
    # (rounded to the 分: before the record, SQLite compared the unrounded REAL sums — 0.1 + 0.2 < 0.3 — and
    # counted a bill paid in two parts as not settled; the record, in integer 分, no longer does)
    paid = (
        f"SELECT {a.debit} AS debit_id, ROUND(SUM({a.amount}), 2) AS settled, "
        f"ROUND(SUM(CASE WHEN {c.day} <= {d.due_date} THEN {a.amount} ELSE 0 END), 2) AS on_time, "
        f"MAX({c.day}) AS last_day "
        f"FROM {a} JOIN {c} ON {c.id} = {a.credit} JOIN {d} ON {d.id} = {a.debit} "
        f"WHERE {c.day} <= %s GROUP BY {a.debit}"
    )
    overdue = (
        f"CASE WHEN COALESCE(p.settled, 0) >= {e.amount} THEN "
        f"(CASE WHEN {_days('p.last_day', e.due_date)} > 0 THEN {_days('p.last_day', e.due_date)} ELSE 0 END) "
        f"ELSE {_days('%s', e.due_date)} END"
    )
    if connection.vendor == "postgresql":
        overdue = overdue.replace("%s", "CAST(%s AS date)")
    window = f"{e.kind} = 'charge' AND {e.due_date} > %s"
    per_debit = (
        f"SELECT {e.account} AS account_id, {e.amount} AS amount, COALESCE(p.settled, 0) AS settled, "
        f"COALESCE(p.on_time, 0) AS on_time, {e.due_date} AS due_date, "
        f"CASE WHEN {window} THEN 1 ELSE 0 END AS in_window, {overdue} AS overdue "
        f"FROM {e} LEFT JOIN ({paid}) p ON p.debit_id = {e.id} "
        f"WHERE {e.amount} > 0 AND {e.due_date} <= %s AND {e.kind} IN ({kinds})"
    )
    billed = scaled_sql("SUM(CASE WHEN in_window = 1 THEN amount ELSE 0 END)", 2)
    arrears = scaled_sql("SUM(CASE WHEN due_date < %s THEN amount - settled ELSE 0 END)", 2)
    sql = (
        f"SELECT account_id, SUM(in_window) AS bills, "
        f"SUM(CASE WHEN in_window = 1 AND on_time >= amount THEN 1 ELSE 0 END) AS punctual, "
        f"MAX(CASE WHEN in_window = 1 THEN overdue ELSE 0 END) AS max_overdue, "
        f"SUM(CASE WHEN in_window = 1 AND overdue > 0 THEN overdue ELSE 0 END) AS overdue_sum, "
        f"SUM(CASE WHEN in_window = 1 AND overdue > 0 THEN 1 ELSE 0 END) AS late, "
        f"{billed} AS billed, {arrears} AS arrears "
        f"FROM ({per_debit}) x GROUP BY account_id"
    )
    end = period.end
    if connection.vendor == "postgresql" and not connection.get_autocommit():
        # one big aggregate: enough memory to hash it without spilling, no JIT compile (seconds under load)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                [str(conf("CREDIT_WORK_MEM"))],
            )
    # in the order of the placeholders: arrears, window, overdue, paid, where
    params = [end, period.start_exclusive, end, end, end]
    frame = query_frame(
        sql,
        params,
        {
            "account_id": pl.Int64,
            "bills": pl.Int64,
            "punctual": pl.Int64,
            "max_overdue": pl.Int64,
            "overdue_sum": pl.Int64,
            "late": pl.Int64,
            "billed": scaled(2),
            "arrears": scaled(2),
        },
    )
    monthly = pl.col("billed") / period.months
    frame = frame.select(
        "account_id",
        punctuality_pct=pl.when(pl.col("bills") > 0)
        .then((100.0 * pl.col("punctual") / pl.col("bills")).round(1))
        .otherwise(100.0),
        max_overdue_days=pl.col("max_overdue").cast(pl.Float64),
        avg_overdue_days=pl.when(pl.col("late") > 0)
        .then((pl.col("overdue_sum") / pl.col("late")).round(1))
        .otherwise(0.0),
        arrears_yuan=pl.col("arrears").clip(lower_bound=0) / 100.0,
        arrears_ratio=pl.when(pl.col("billed") > 0)
        .then((pl.col("arrears").clip(lower_bound=0) / monthly).round(2))
        .otherwise(0.0),
    )
    features = _align(
        account_ids,
        frame,
        ["punctuality_pct", "max_overdue_days", "avg_overdue_days", "arrears_yuan", "arrears_ratio"],
    )
    # an account without any ledger row was never late
    present = np.isin(account_ids, frame["account_id"].to_numpy())
    features["punctuality_pct"] = np.where(present, features["punctuality_pct"], 100.0)
    return features


def _random_ledger(rng: random.Random, accounts: list[Any], poster: Any) -> None:
    from gridcare.ledger.models import Allocation, Entry

    def entry(account: Any, kind: str, amount: Decimal, day: dt.date, due: dt.date | None = None) -> Entry:
        return Entry.objects.create(
            account=account, kind=kind, amount=amount, day=day, due_date=due or day, posted_by=poster
        )

    for account in accounts:
        for month in range(1, 13):
            if rng.random() < 0.15:
                continue
            due = dt.date(2025 + (month > 2), (month + 9) % 12 + 1, rng.choice([10, 25, 28]))
            amount = Decimal(rng.randint(1, 2_000_000)) / 100
            kind = rng.choice(["charge"] * 6 + ["correction", "late_fee"])
            debit = entry(account, kind, amount, due - dt.timedelta(days=15), due)
            left = amount
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                if left <= 0:
                    break
                part = (
                    left
                    if rng.random() < 0.6
                    else (left * Decimal(rng.randint(1, 99)) / 100).quantize(Decimal("0.01"))
                )
                if part <= 0:
                    continue
                day = due + dt.timedelta(days=rng.choice([-5, 0, 0, 1, 20, 45, 80, 130]))
                payment = entry(account, "payment", -part, day)
                Allocation.objects.create(
                    credit=payment, debit=debit, amount=part, cause=payment, account=account
                )
                left -= part
                if rng.random() < 0.15:
                    # reversed later: the allocation undone (dated by the payment, as the ledger does), the
                    # reversal a debit settled from the payment; the bill open again unless paid once more
                    reversal = entry(account, "reversal", part, day + dt.timedelta(days=rng.randint(0, 40)))
                    Allocation.objects.create(
                        credit=payment, debit=debit, amount=-part, cause=reversal, account=account
                    )
                    Allocation.objects.create(
                        credit=payment, debit=reversal, amount=part, cause=reversal, account=account
                    )
                    left += part


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_features_from_the_settlement_record_equal_those_derived_from_the_allocations(
    seed, company, staff
) -> None:
    from gridcare.keyaccounts.credit import Period, ledger_features
    from gridcare.ledger import settlement

    rng = random.Random(seed)
    accounts = [company(f"信用对照厂{seed}-{i}") for i in range(12)]
    _random_ledger(rng, accounts, staff("billing"))
    assert settlement.mismatches() == []
    ids = np.array(sorted(a.pk for a in accounts) + [10**9], dtype=np.int64)  # and one without any entry
    after = straddling = 0
    for month in MONTHS:
        period = Period(month)
        got, want = ledger_features(ids, period), reference_ledger_features(ids, period)
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{month} {name}")
        from gridcare.ledger.models import Settlement

        mine = Settlement.objects.filter(account__in=accounts, last_day__gt=period.end)
        after += mine.filter(first_day__gt=period.end).count()
        straddling += mine.filter(first_day__lte=period.end).count()
    # both paths for debits with credits after the evaluation date were exercised: only after it (nothing settled
    # then), and before and after it (derived from the allocations)
    assert after > 0 and straddling > 0
    assert ids.size and pl.Series(want["punctuality_pct"]).n_unique() > 1  # the ledgers differ


def test_a_reversal_reopens_the_bill_and_a_new_payment_settles_it_again(company, staff) -> None:
    from gridcare.ledger import settlement
    from gridcare.ledger.models import Allocation, Entry, Settlement

    account, poster = company("冲正厂"), staff("billing")
    due = dt.date(2026, 9, 25)
    charge = Entry.objects.create(
        account=account, kind="charge", amount=Decimal("100.10"), day=due, due_date=due, posted_by=poster
    )
    row = Settlement.objects.get(debit=charge)
    assert (row.amount, row.settled, row.settled_on, row.kind, row.due_date) == (
        10010,
        0,
        None,
        "charge",
        due,
    )
    paid = Entry.objects.create(
        account=account, kind="payment", amount=Decimal("-100.10"), day=due, due_date=due, posted_by=poster
    )
    Allocation.objects.bulk_create(
        [Allocation(credit=paid, debit=charge, amount=Decimal("100.10"), cause=paid, account=account)]
    )
    row.refresh_from_db()
    assert (row.settled, row.on_time, row.settled_on) == (10010, 10010, due)
    undo = Entry.objects.create(
        account=account,
        kind="reversal",
        amount=Decimal("100.10"),
        day=dt.date(2026, 10, 3),
        due_date=dt.date(2026, 10, 3),
        posted_by=poster,
    )
    Allocation.objects.bulk_create(
        [
            Allocation(credit=paid, debit=charge, amount=Decimal("-100.10"), cause=undo, account=account),
            Allocation(credit=paid, debit=undo, amount=Decimal("100.10"), cause=undo, account=account),
        ]
    )
    row.refresh_from_db()
    assert (row.settled, row.on_time, row.settled_on) == (0, 0, None)
    assert Settlement.objects.get(debit=undo).settled_on == dt.date(2026, 9, 25)
    again = Entry.objects.create(
        account=account,
        kind="payment",
        amount=Decimal("-100.10"),
        day=dt.date(2026, 10, 9),
        due_date=dt.date(2026, 10, 9),
        posted_by=poster,
    )
    Allocation.objects.create(
        credit=again, debit=charge, amount=Decimal("100.10"), cause=again, account=account
    )
    row.refresh_from_db()
    assert row.first_day == due
    assert (row.settled, row.on_time, row.last_day, row.settled_on) == (
        10010,
        0,
        dt.date(2026, 10, 9),
        dt.date(2026, 10, 9),
    )
    assert settlement.mismatches() == []


def test_rebuild_derives_the_same_record_and_check_reports_a_drift(company, staff) -> None:
    from gridcare.ledger import selectors, settlement
    from gridcare.ledger.models import Settlement

    rng = random.Random(7)
    accounts = [company(f"重建厂{i}") for i in range(4)]
    _random_ledger(rng, accounts, staff("billing"))
    before = sorted(
        Settlement.objects.values_list("debit_id", "settled", "on_time", "last_day", "settled_on")
    )
    assert settlement.rebuild() == len(before)
    assert (
        sorted(Settlement.objects.values_list("debit_id", "settled", "on_time", "last_day", "settled_on"))
        == before
    )
    victim = Settlement.objects.filter(settled__gt=0).order_by("pk").first()
    assert victim is not None
    Settlement.objects.filter(pk=victim.pk).update(settled=victim.settled - 1)
    assert [row[0] for row in settlement.mismatches()] == [victim.pk]
    assert any("settlement record differs" in problem for problem in selectors.check())
    Settlement.objects.filter(pk=victim.pk).delete()
    assert [row[0] for row in settlement.mismatches()] == [victim.pk]


def test_the_ledger_features_are_one_query(company, staff, django_assert_max_num_queries) -> None:
    from gridcare.keyaccounts.credit import Period, ledger_features

    accounts = [company(f"单查询厂{i}") for i in range(3)]
    _random_ledger(random.Random(3), accounts, staff("billing"))
    ids = np.array([a.pk for a in accounts], dtype=np.int64)
    with django_assert_max_num_queries(1 + (connection.vendor == "postgresql")):
        ledger_features(ids, Period("2026-10"))
