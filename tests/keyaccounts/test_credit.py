"""Credit scores (信用评价): features from the ledger and rebills, the monthly run, adjustments within authority,
the grade other modules read, the CLI, the API and the screens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from gridcare.core.errors import Conflict, InvalidInput, NotFound, PermissionRefused

MONTH = "2026-10"


@pytest.fixture
def credit_rules(org) -> None:
    from gridcare.keyaccounts.credit_actions import do_load_credit_rule_defaults
    from gridcare.org.selectors import system_actor

    do_load_credit_rule_defaults(system_actor())


@pytest.fixture
def ledger(staff) -> Callable[..., Any]:
    """Write a bill charge due on ``due`` and, when ``paid`` is given, a payment that day settling ``paid_amount``
    (default: all of it) — straight ledger rows, so the days are the test's."""
    from gridcare.ledger.models import Allocation, Entry

    poster = staff("billing")

    def post(
        account: Any, amount: str, due: dt.date, paid: dt.date | None = None, paid_amount: str | None = None
    ):
        charge = Entry.objects.create(
            account=account,
            kind=Entry.Kind.CHARGE,
            amount=Decimal(amount),
            day=due - dt.timedelta(days=15),
            due_date=due,
            posted_by=poster,
        )
        if paid is not None:
            value = Decimal(paid_amount or amount)
            payment = Entry.objects.create(
                account=account,
                kind=Entry.Kind.PAYMENT,
                amount=-value,
                day=paid,
                due_date=paid,
                posted_by=poster,
            )
            Allocation.objects.create(
                credit=payment, debit=charge, amount=value, cause=payment, account=account
            )
        return charge

    return post


def _run(month: str = MONTH) -> dict[str, Any]:
    from gridcare.keyaccounts.credit_actions import do_compute_credit_scores
    from gridcare.org.selectors import system_actor

    return do_compute_credit_scores(system_actor(), month=month)


def _score(account: Any, month: str = MONTH) -> Any:
    from gridcare.keyaccounts.models import CreditScore

    return CreditScore.objects.get(account=account, month=month)


def test_a_punctual_payer_scores_100_and_a_late_one_loses_points_with_the_reasons(
    credit_rules, company, ledger, staff
) -> None:
    from gridcare.keyaccounts.credit_actions import reasons_of

    good = company("准时缴费厂", manager=staff("key_account"))
    late = company("拖欠缴费厂", manager=staff("key_account"))
    for month in range(1, 11):
        due = dt.date(2026, month, 25)
        ledger(good, "10000.00", due, paid=due)
        if month <= 6:
            ledger(late, "10000.00", due, paid=due + dt.timedelta(days=40))  # six bills paid 40 days late
        elif month < 10:
            ledger(late, "10000.00", due, paid=due)
        else:
            ledger(late, "10000.00", due)  # October's bill open: 6 days overdue on 31 October
    ledger(late, "25000.00", dt.date(2026, 8, 25))  # an August bill never paid: 67 days overdue
    summary = _run()
    assert summary["scored"] >= 2
    first, second = _score(good), _score(late)
    assert (first.score, first.grade) == (100, "A")
    # 3 of 11 bills due in the window were paid by their due date → 27.3% (below 60: −30);
    # the oldest is 67 days overdue (above 30: −10); avg of the late ones (40×6, 6, 67)/8 = 39.1 (above 30: −10);
    # arrears 35,000 元 over a monthly billing of 125,000/12 = 10,416.67 元 → 3.36 (above 3: −20)
    figures = {r["feature"]: r["value"] for r in reasons_of(second)}
    assert figures["punctuality_pct"] == pytest.approx(27.3)
    assert figures["max_overdue_days"] == 67
    assert figures["arrears_ratio"] == pytest.approx(3.36)
    assert {r["code"]: r["points"] for r in reasons_of(second)} == {
        "punctuality": 30,
        "max_overdue": 10,
        "avg_overdue": 10,
        "arrears_ratio": 20,
    }
    assert (second.score, second.grade) == (30, "D")


def _reference_ledger_features(account_ids: list[int], end: dt.date, start_exclusive: dt.date) -> dict:
    """The ledger features worked out debit by debit in plain Python from the ORM rows — what the set-based source
    must equal."""
    from gridcare.keyaccounts.credit import DEBIT_KINDS
    from gridcare.ledger.models import Allocation, Entry

    figures = {}
    for account_id in account_ids:
        bills = punctual = late = 0
        max_overdue = overdue_sum = 0
        billed = arrears = Decimal(0)
        debits = Entry.objects.filter(
            account_id=account_id, amount__gt=0, due_date__lte=end, kind__in=DEBIT_KINDS
        )
        for debit in debits:
            rows = Allocation.objects.filter(debit=debit, credit__day__lte=end).select_related("credit")
            settled = sum((row.amount for row in rows), Decimal(0))
            on_time = sum((row.amount for row in rows if row.credit.day <= debit.due_date), Decimal(0))
            if rows and settled >= debit.amount:
                overdue = max((max(row.credit.day for row in rows) - debit.due_date).days, 0)
            else:
                overdue = (end - debit.due_date).days
            if debit.due_date < end:
                arrears += debit.amount - settled
            if debit.kind == Entry.Kind.CHARGE and debit.due_date > start_exclusive:
                bills += 1
                billed += debit.amount
                punctual += on_time >= debit.amount
                max_overdue = max(max_overdue, overdue)
                if overdue > 0:
                    late += 1
                    overdue_sum += overdue
        arrears = max(arrears, Decimal(0))
        figures[account_id] = {
            "punctuality_pct": round(100.0 * punctual / bills, 1) if bills else 100.0,
            "max_overdue_days": float(max_overdue),
            "avg_overdue_days": round(overdue_sum / late, 1) if late else 0.0,
            "arrears_yuan": float(arrears),
            "arrears_ratio": round(float(arrears * 100) / float(billed * 100 / 12), 2) if billed else 0.0,
        }
    return figures


def test_the_ledger_source_equals_a_debit_by_debit_reckoning(credit_rules, company, ledger, staff) -> None:
    """Partial payments, payments after the month (not yet counted), a reversed payment, a late fee and a bill due
    after the month, a charge from before the window, an account without any ledger row — on random amounts."""
    _ledger_source_equals_the_reckoning(company, ledger, staff)


@pytest.mark.django_db(transaction=True)
def test_the_ledger_scans_on_two_connections_equal_the_reckoning(
    credit_rules, company, ledger, staff, monkeypatch
) -> None:
    """With the ledger committed (the monthly run's case), PostgreSQL runs the three scans on two connections at
    once (a helper connection in a thread): the same figures."""
    from django.db import connection

    from gridcare.core import frames

    helpers: list[object] = []
    real_helper = frames._helper_connection

    def counted(session: Any) -> Any:
        helper = real_helper(session)
        helpers.append(helper)
        return helper

    monkeypatch.setattr(frames, "_helper_connection", counted)
    _ledger_source_equals_the_reckoning(company, ledger, staff)
    assert len(helpers) == (1 if connection.vendor == "postgresql" else 0)


def _ledger_source_equals_the_reckoning(company: Any, ledger: Any, staff: Any) -> None:
    import random

    import numpy as np

    from gridcare.keyaccounts.credit import Period, ledger_features
    from gridcare.ledger.models import Allocation, Entry

    rng = random.Random(20261203)
    poster = staff("billing")
    accounts = [company(f"对照厂{n}") for n in range(6)]

    def entry(account: Any, kind: str, amount: Decimal, day: dt.date) -> Entry:
        return Entry.objects.create(
            account=account, kind=kind, amount=amount, day=day, due_date=day, posted_by=poster
        )

    for account in accounts[:5]:
        for month in range(1, 13):
            due = dt.date(2026, month, 25) if month < 12 else dt.date(2026, 11, 30) + dt.timedelta(days=5)
            amount = f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}"
            choice = rng.random()
            if choice < 0.4:
                ledger(account, amount, due, paid=due - dt.timedelta(days=rng.randint(0, 5)))
            elif choice < 0.7:
                ledger(account, amount, due, paid=due + dt.timedelta(days=rng.randint(1, 70)))
            elif choice < 0.85:
                part = f"{Decimal(amount) * Decimal('0.37'):.2f}"
                charge = ledger(account, amount, due, paid=due + dt.timedelta(days=3), paid_amount=part)
                rest = entry(
                    account,
                    "payment",
                    Decimal(part) - Decimal(amount),
                    due + dt.timedelta(days=rng.choice([10, 400])),
                )
                Allocation.objects.create(
                    credit=rest, debit=charge, amount=-rest.amount, cause=rest, account=account
                )
            else:
                ledger(account, amount, due)
        # an old bill before the window, settled late; a late fee; a payment reversed (negative allocation)
        ledger(account, "500.00", dt.date(2025, 6, 25), paid=dt.date(2025, 9, 1))
        entry(account, "late_fee", Decimal("12.34"), dt.date(2026, 9, 1))
        charge = ledger(account, "800.00", dt.date(2026, 10, 5), paid=dt.date(2026, 10, 1))
        payment = Allocation.objects.get(debit=charge).credit
        reversal = entry(account, "reversal", Decimal("800.00"), dt.date(2026, 10, 8))
        Allocation.objects.create(
            credit=payment, debit=charge, amount=Decimal("-800.00"), cause=reversal, account=account
        )
    # out of id order, the account without a ledger row among them, one account with debits not asked for
    asked = [*reversed(accounts[:4]), accounts[5]]
    ids = np.array([account.pk for account in asked], dtype=np.int64)
    period = Period(MONTH)
    found = ledger_features(ids, period)
    expected = _reference_ledger_features([int(i) for i in ids], period.end, period.start_exclusive)
    for index, account_id in enumerate(ids.tolist()):
        got = {name: float(values[index]) for name, values in found.items()}
        assert got == pytest.approx(expected[account_id]), account_id
    assert found["max_overdue_days"][:4].max() > 0 and found["arrears_yuan"][:4].min() > 0
    assert found["punctuality_pct"][4] == 100.0 and found["arrears_yuan"][4] == 0.0


def test_a_posted_theft_case_costs_points(credit_rules, company, staff, monkeypatch) -> None:
    from gridcare.keyaccounts import credit

    account = company("窃电厂", manager=staff("key_account"))

    def counted(ids, period):
        import numpy as np

        return {"violations": np.where(ids == account.pk, 2.0, 0.0)}

    monkeypatch.setattr(credit, "violation_features", counted)
    credit._load.cache_clear()
    try:
        _run()
    finally:
        credit._load.cache_clear()
    assert _score(account).deductions[6] == 30  # two cases × 15, capped at 30


def test_violation_source_counts_posted_violation_and_theft_rebills(credit_rules, company, staff) -> None:
    import numpy as np

    from gridcare.billing.models import Bill, Rebill, RebillItem
    from gridcare.keyaccounts.credit import Period, violation_features
    from gridcare.org.models import OrgUnit

    account = company("违约厂")
    other = company("守法厂")
    bill = Bill.objects.create(
        account=account,
        period="2026-05",
        period_start=dt.date(2026, 5, 1),
        period_end=dt.date(2026, 5, 31),
        tariff_code="X",
        energy_kwh=1,
        tier_ytd_kwh=0,
        charges=1,
        funds=0,
        total=1,
        status="released",
    )
    for number, kind, status in (
        ("R1", "theft", "posted"),
        ("R2", "violation", "posted"),
        ("R3", "theft", "pending"),
        ("R4", "correction", "posted"),
    ):
        case = Rebill.objects.create(
            number=number,
            kind=kind,
            reason="稽查",
            status=status,
            org_unit=OrgUnit.objects.get(code="CG"),
            proposed_by=staff("billing"),
            posted_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC) if status == "posted" else None,
        )
        RebillItem.objects.create(
            rebill=case, bill=bill, original_total=1, corrected_total=2, difference=1, total=1
        )
    found = violation_features(np.array([account.pk, other.pk]), Period(MONTH))
    assert found["violations"].tolist() == [2.0, 0.0]


def test_disconnections_and_broken_plans_of_the_window_are_counted(credit_rules, company, staff) -> None:
    import numpy as np

    from gridcare.keyaccounts.credit import Period, disconnection_features, payment_plan_features
    from gridcare.ledger.models import DunningCase, DunningStep, PaymentPlan

    account, other = company("停电厂"), company("守信厂")
    collector = staff("collector")
    inside, before = dt.datetime(2026, 9, 10, 10, tzinfo=dt.UTC), dt.datetime(2025, 9, 10, 10, tzinfo=dt.UTC)
    for at in (inside, before):  # one disconnection in the 12-month window, one a year earlier
        case = DunningCase.objects.create(account=account, status="closed", opened_at=at)
        DunningStep.objects.create(case=case, kind="disconnected", at=at, by=collector)
        DunningStep.objects.create(case=case, kind="reminder", at=at, by=collector)
    for status, ended in (("broken", inside), ("broken", before), ("completed", inside)):
        PaymentPlan.objects.create(
            account=account,
            amount=Decimal("100.00"),
            status=status,
            reason="资金周转",
            start_day=dt.date(2026, 1, 1),
            created_by=staff("key_account"),
            ended_at=ended,
        )
    ids = np.array([account.pk, other.pk])
    assert disconnection_features(ids, Period(MONTH))["disconnections"].tolist() == [1.0, 0.0]
    assert payment_plan_features(ids, Period(MONTH))["broken_plans"].tolist() == [1.0, 0.0]


def test_the_run_is_once_per_account_and_month_and_a_rerun_scores_only_the_missing(
    credit_rules, company, staff
) -> None:
    from gridcare.core.audit import AuditEntry

    company("甲厂")
    first = _run()
    assert first["scored"] > 0
    company("乙厂")
    again = _run()
    assert again["scored"] == 1
    assert _run()["scored"] == 0
    assert AuditEntry.objects.filter(action="keyaccounts.compute_credit_scores").count() == 3


@contextmanager
def other_copy_running() -> Iterator[None]:
    """Another run holds the job's lock: on PostgreSQL another session's advisory lock (a session's own lock is
    re-entrant), on SQLite the lock file held through another file description."""
    from django.db import connection, connections

    from gridcare.core.locks import job_lock, lock_key
    from gridcare.keyaccounts.credit_actions import JOB

    if connection.vendor != "postgresql":
        with job_lock(JOB):
            yield
        return
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key(JOB)])
        yield
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(JOB)])
    finally:
        other.close()


def test_a_second_run_at_once_skips(credit_rules, company, capsys) -> None:
    from gridcare.core.locks import JobBusy
    from gridcare.keyaccounts.models import CreditScore

    company()
    with other_copy_running():
        with pytest.raises(JobBusy):
            _run()
        call_command("keyaccounts", "credit", "--month", MONTH)
        assert "跳过" in capsys.readouterr().out
    assert not CreditScore.objects.exists()
    _run()
    assert CreditScore.objects.exists()


@pytest.mark.parametrize("month", ["2026-13", "26-01", "soon", "2099-01"])
def test_a_bad_month_is_refused(credit_rules, month) -> None:
    with pytest.raises(InvalidInput, match="month"):
        _run(month)


def test_adjustment_within_the_limit_applies_and_feeds_the_grade(
    credit_rules, company, staff, ledger
) -> None:
    from gridcare.keyaccounts.credit_actions import do_adjust_credit_score
    from gridcare.keyaccounts.selectors import credit_grades

    kam = staff("key_account")
    account = company("调整厂", manager=kam)
    ledger(account, "1000.00", dt.date(2026, 9, 25), paid=dt.date(2026, 10, 30))  # 35 days late
    _run()
    computed = _score(account)
    assert computed.score < 100
    done = do_adjust_credit_score(kam, account, points=10, reason="客户已签分期协议，按期履约")
    assert done.status == "approved" and done.score_after == computed.score + 10
    assert credit_grades([account.pk]) == {account.pk: done.grade_after}
    # the limit counts the distance from the computed score: another +1 is 11 away and waits for approval
    second = do_adjust_credit_score(kam, account, points=1, reason="再调")
    assert second.status == "pending" and "营销服务部经理" in second.approvers
    assert credit_grades([account.pk]) == {account.pk: done.grade_after}


def test_adjustment_over_the_limit_waits_and_an_approver_with_the_authority_decides(
    credit_rules, company, staff
) -> None:
    from gridcare.keyaccounts.credit_actions import do_adjust_credit_score, do_decide_credit_adjustment
    from gridcare.keyaccounts.selectors import credit_grades

    kam, manager = staff("key_account"), staff("manager")
    account = company("重大调整厂", manager=kam)
    _run()
    request = do_adjust_credit_score(kam, account, points=-40, reason="发现窃电嫌疑，待稽查")
    assert request.status == "pending"
    assert credit_grades([account.pk]) == {account.pk: "A"}
    with pytest.raises(PermissionRefused):
        do_decide_credit_adjustment(kam, request.pk, approve=True)  # never one's own
    with pytest.raises(PermissionRefused, match="credit_score_change|信用分"):
        do_decide_credit_adjustment(manager, request.pk, approve=True)  # 40 > the manager's 30
    with pytest.raises(InvalidInput, match="note"):
        do_decide_credit_adjustment(manager, request.pk, approve=False)
    assert "分管营销副总经理" in request.approvers  # whose limit (100 points) covers 40
    vp = staff("vp")
    decided = do_decide_credit_adjustment(vp, request.pk, approve=True, note="稽查结论前先下调")
    assert decided.status == "approved" and decided.decided_by == vp
    assert credit_grades([account.pk]) == {account.pk: "C"}  # 100 − 40
    # the next request, 25 from the computed score, is approved within the marketing manager's 30 points
    smaller = do_adjust_credit_score(kam, account, points=15, reason="稽查后复核，部分排除")  # 60 → 75
    assert smaller.status == "pending"
    do_decide_credit_adjustment(manager, smaller.pk, approve=True, note="同意")
    assert credit_grades([account.pk]) == {account.pk: "B"}  # 75


@pytest.mark.parametrize(
    ("points", "reason", "field"),
    [(5, "  ", "reason"), (0, "原因", "points"), (-200, "原因", "points")],
)
def test_a_change_without_a_reason_or_out_of_range_is_refused_and_nothing_changes(
    credit_rules, company, staff, points, reason, field
) -> None:
    from gridcare.keyaccounts.credit_actions import do_adjust_credit_score
    from gridcare.keyaccounts.models import CreditAdjustment

    account = company("无理由厂", manager=staff("key_account"))
    _run()
    with pytest.raises(InvalidInput) as error:
        do_adjust_credit_score(staff("key_account"), account, points=points, reason=reason)
    assert field in error.value.errors
    assert not CreditAdjustment.objects.exists()


def test_an_account_outside_ones_portfolio_is_not_found(credit_rules, company, staff) -> None:
    from gridcare.keyaccounts.credit_actions import do_adjust_credit_score

    account = company("别人的厂")  # no account manager: not the key account manager's
    _run()
    with pytest.raises(NotFound):
        do_adjust_credit_score(staff("key_account"), account, points=5, reason="调整")


def test_a_second_adjustment_while_one_waits_is_refused(credit_rules, company, staff) -> None:
    from gridcare.keyaccounts.credit_actions import do_adjust_credit_score

    kam = staff("key_account")
    account = company("排队厂", manager=kam)
    _run()
    do_adjust_credit_score(kam, account, points=-30, reason="原因")
    with pytest.raises(Conflict):
        do_adjust_credit_score(kam, account, points=-5, reason="原因")


def test_new_rules_are_a_new_version_and_bad_rules_are_refused(credit_rules, staff) -> None:
    from gridcare.keyaccounts.credit import default_rules
    from gridcare.keyaccounts.credit_actions import do_set_credit_rules
    from gridcare.keyaccounts.models import CreditRuleSet

    data = default_rules()
    data["grades"] = [["A", 95], ["B", 80], ["C", 60], ["D", 0]]
    assert do_set_credit_rules(staff("manager"), rules=data, note="收紧A级").version == 2
    with pytest.raises(InvalidInput, match="rules"):
        do_set_credit_rules(staff("manager"), rules={"rules": [], "grades": [["A", 0]]})
    with pytest.raises(PermissionRefused):
        do_set_credit_rules(staff("key_account"), rules=data)
    assert CreditRuleSet.objects.count() == 2


def test_a_rules_version_is_never_changed_nor_deleted(credit_rules) -> None:
    """The scores name their version without a database constraint: the version must never change or go."""
    from django.db import DatabaseError, connection, transaction

    from gridcare.keyaccounts.models import CreditRuleSet

    rule_set = CreditRuleSet.objects.get()
    note = rule_set.note
    rule_set.note = "改"
    with pytest.raises(Conflict):
        rule_set.save()
    with pytest.raises(Conflict):
        rule_set.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        CreditRuleSet.objects.filter(pk=rule_set.pk).update(note="改")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            CreditRuleSet.objects.filter(pk=rule_set.pk).delete()
    assert CreditRuleSet.objects.get().note == note != "改"


def test_a_scores_figures_and_points_read_back_as_numbers(credit_rules, company, ledger) -> None:
    """Written by the run (COPY on PostgreSQL) as JSON text, read back as lists of numbers."""
    from gridcare.keyaccounts.credit_actions import figures_of, reasons_of

    late = company("迟缴厂")
    ledger(late, "1000.00", dt.date(2026, 6, 25), paid=dt.date(2026, 8, 30))
    _run()
    score = _score(late)
    assert all(isinstance(n, int | float) for n in score.features)
    assert all(type(n) is int for n in score.deductions) and sum(score.deductions) == 100 - score.score
    assert figures_of(score)["max_overdue_days"] == 66.0
    assert reasons_of(score)


def test_credit_grades_reads_the_latest_month(credit_rules, company, ledger) -> None:
    from gridcare.keyaccounts.selectors import credit_grades

    account = company("逐月厂")
    _run("2026-08")
    ledger(account, "1000.00", dt.date(2026, 9, 1))  # unpaid: 60 days overdue on 31 October
    _run(MONTH)
    assert _score(account, "2026-08").grade == "A"
    assert credit_grades([account.pk]) == {account.pk: _score(account).grade} != {account.pk: "A"}
    assert credit_grades([]) == {}


def test_cli_runs_the_month_shows_the_rules_and_adjusts(
    credit_rules, company, staff, capsys, tmp_path
) -> None:
    account = company("命令行厂", manager=staff("key_account"))
    call_command("keyaccounts", "credit", "--month", MONTH)
    assert "信用评价：评价" in capsys.readouterr().out
    call_command("keyaccounts", "credit-rules")
    assert "punctuality_pct" in capsys.readouterr().out
    call_command(
        "keyaccounts",
        "adjust-credit",
        "--account",
        account.number,
        "--points",
        "-5",
        "--reason",
        "测试",
        "--user",
        "key_account",
    )
    assert "100 → 95" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: []\ngrades: [[A, 0]]\n", encoding="utf-8")
    with pytest.raises(CommandError, match="至少需要一条"):
        call_command("keyaccounts", "credit-rules", "--file", str(bad), "--user", "manager")
    with pytest.raises(CommandError, match="原因"):
        call_command(
            "keyaccounts",
            "adjust-credit",
            "--account",
            account.number,
            "--points",
            "1",
            "--user",
            "key_account",
        )
