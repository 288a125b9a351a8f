"""Two workers rate two chunks of one run at the same time: a chunk being rated holds its own row only.

PostgreSQL only (real row locks between two connections; on SQLite this module is not collected — conftest.py).
The chunk's lock used to take the run's row with it (``select_for_update`` over ``select_related``), so a run's
"parallel" workers rated its chunks one after the other: a 100,000-account run took 17.3 s instead of 9.4 s.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from gridcare.billing import actions
from gridcare.billing.models import Bill, BillingRun, RunChunk
from gridcare.billing.rating import RatedChunk
from tests.billing.conftest import PERIOD


@pytest.mark.django_db(transaction=True)
def test_a_chunk_being_rated_does_not_hold_up_another_chunk_of_the_run(staff, customer, monkeypatch) -> None:
    for n in range(4):
        customer("CN-ZJ-RES-TIERED", {"active_total": str(120 + n)})
    accountant = staff("billing")
    run = actions.do_start_run(accountant, period=PERIOD, executor="process", workers=2, chunk_size=2)
    first, second = RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True)
    actions.do_begin_run(accountant, run)

    inside, release = threading.Event(), threading.Event()
    real_write = actions.write_chunk

    def write_held(run_: BillingRun, rated: RatedChunk) -> None:
        if threading.current_thread().name == "first-chunk":
            inside.set()
            release.wait(timeout=60)
        real_write(run_, rated)

    monkeypatch.setattr(actions, "write_chunk", write_held)
    outcomes: dict[str, Any] = {}

    def rate(name: str, chunk_id: int) -> None:
        try:
            outcomes[name] = actions.do_rate_chunk(accountant, chunk_id).status
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            outcomes[name] = error
        finally:
            connections.close_all()

    held = threading.Thread(target=rate, args=("first", first), name="first-chunk")
    held.start()
    try:
        assert inside.wait(timeout=60), "the first chunk never reached its write"
        other = threading.Thread(target=rate, args=("second", second), name="second-chunk")
        other.start()
        other.join(timeout=30)
        assert not other.is_alive(), "the second chunk waited for the first one's transaction"
        assert outcomes["second"] == RunChunk.Status.DONE
    finally:
        release.set()
        held.join(timeout=60)
    assert outcomes["first"] == RunChunk.Status.DONE
    run.refresh_from_db()
    assert (run.chunks_done, run.bills) == (2, 4)
    assert Bill.objects.filter(run=run).count() == 4
