"""The three executors run the same chunk code and give the same bills; two runs of a period at once: one works."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillingRun, RunChunk
from gridcare.core.locks import JobBusy
from tests.billing.conftest import PERIOD
from tests.concurrency import run_together, truly_concurrent

#: the process pool needs a database its worker processes can open: PostgreSQL (the SQLite test database lives
#: in this process's memory); the Celery executor runs eagerly here, on a real worker in CI with Redis
EXECUTORS = ["inline", "celery"] + (
    ["process"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else []
)


def bills_of(run: BillingRun) -> list[tuple[Any, ...]]:
    return sorted(
        (b.account.number, b.total, b.energy_kwh, tuple((ln.code, ln.amount) for ln in b.lines.all()))
        for b in Bill.objects.filter(run=run).select_related("account")
    )


@pytest.mark.django_db(transaction=True)
def test_the_executors_give_identical_bills(staff, customer) -> None:
    for n in range(7):
        customer("CN-ZJ-RES-TIERED", {"active_total": str(100 + 37 * n)})
    customer(
        "CN-LI-2PART-TOU",
        {
            "active_sharp": "10",
            "active_peak": "40",
            "active_flat": "30",
            "active_valley": "20",
            "reactive_total": "50",
        },
        capacity="400",
        voltage="10kV",
        customer_class="large_industry",
    )
    results = []
    for executor in EXECUTORS:
        run = start_run(staff("billing"), period=PERIOD, executor=executor, workers=2, chunk_size=3)
        assert run.status == BillingRun.Status.DONE, executor
        assert RunChunk.objects.filter(run=run, status=RunChunk.Status.DONE).count() == 3
        results.append(bills_of(run))
        Bill.objects.filter(run=run).delete()  # the next executor bills the same period afresh
    assert len(results[0]) == 8
    assert all(r == results[0] for r in results[1:])


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_a_period_at_once_bill_each_account_once(staff, customer) -> None:
    accounts = [customer() for _ in range(4)]
    outcomes = run_together(
        [
            lambda: start_run(staff("billing"), period=PERIOD),
            lambda: start_run(staff("billing"), period=PERIOD),
        ]
    )
    for account in accounts:
        assert Bill.objects.filter(account=account, period=PERIOD).count() == 1
    finished = [o for o in outcomes if isinstance(o, BillingRun)]
    assert sum(r.bills for r in finished) == len(accounts)
    if truly_concurrent():  # the second found the period's lock taken
        assert any(isinstance(o, JobBusy) for o in outcomes)
