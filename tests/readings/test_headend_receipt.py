"""Head-end in two stages: the receipt (answers per record, the lean receipt table, replays, concurrency) and the
settle job (the one capture path, exactly as if the records had been captured synchronously; two copies at once;
a meter removed in between; started after the receipt commits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from gridcare.core.models import AuditEntry
from gridcare.readings.actions import capture_reads, do_generate_plan, receive_reads, settle
from gridcare.readings.models import HeadEndRead, MeterRead, ReadException
from gridcare.service.models import WorkOrder

pytestmark = pytest.mark.django_db
URL = "/api/readings/headend/"


def _record(meter: Any, day: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "meter": meter.asset_no,
        "register": "active_total",
        "read_at": f"{day}T00:15:00+08:00",
        "value": value,
        **extra,
    }


def _statuses(results: list[Any]) -> list[str]:
    return [r.status for r in results]


def _stored(meters: list[Any]) -> dict[str, Any]:
    """What the capture path left for these meters, by the meters' positions (comparable between two sets)."""
    position = {m.pk: n for n, m in enumerate(meters)}
    point = {m.service_point_id: n for n, m in enumerate(meters)}
    reads = sorted(
        (
            position[r.meter_id], r.register, r.read_at, r.value, r.quantity, r.multiplier, r.status, r.source,
            r.condition, r.period, r.task.status if r.task else None,
        )
        for r in MeterRead.objects.filter(meter__in=meters).select_related("task")
    )  # fmt: skip
    exceptions = sorted(
        (point[e.service_point_id], e.rule, e.severity, e.proposed_value, e.status, e.read.status if e.read else None)
        for e in ReadException.objects.filter(service_point__in=point).select_related("read")
    )  # fmt: skip
    orders = sorted(
        (point[o.service_point_id], o.sub_type) for o in WorkOrder.objects.filter(service_point__in=point)
    )
    return {"reads": reads, "exceptions": exceptions, "orders": orders}


def test_settle_stores_exactly_what_the_synchronous_path_stores(installed, route_for, system, staff):
    """Given two identical sets of meters on routes with the period's tasks, when the same batches go through
    the synchronous capture path for one set and through receipt + settle for the other, then both hold the
    same reads (consumption, multiplier, status, task), exceptions (VEE, a conflicting replay holding its read)
    and meter-fault work orders."""

    def meters() -> list[Any]:
        return [
            installed(initial={"active_total": "100"}),
            installed(initial={"active_total": "50"}, ct_ratio=20),
            installed(initial={"active_total": "5"}),
        ]

    sync, staged = meters(), meters()
    route_for(*sync)
    route_for(*staged)
    do_generate_plan(system, period="2026-11")

    def batches(m: list[Any]) -> list[list[dict[str, Any]]]:
        return [
            [_record(m[0], "2026-10-15", "150")],
            [
                _record(m[0], "2026-11-15", "180.5"),
                _record(m[1], "2026-11-15", "40"),  # below the initial read: reverse running, held
                _record(m[2], "2026-11-15", "6", condition="停走"),  # field work: a meter-fault order
            ],
            [_record(m[0], "2026-11-15", "181"), _record(m[1], "2026-11-15", "40")],  # conflict, duplicate
        ]

    account = staff("headend")
    answers = [capture_reads(account, batch, source="headend") for batch in batches(sync)]
    assert [_statuses(a) for a in answers] == [
        ["accepted"],
        ["accepted"] * 3,
        ["conflict", "duplicate"],
    ]
    receipts = [receive_reads(account, batch) for batch in batches(staged)]
    assert [_statuses(a) for a in receipts] == [["received"], ["received"] * 3, ["conflict", "duplicate"]]
    assert MeterRead.objects.filter(meter__in=staged).count() == 0  # nothing settled yet
    chunks = settle()
    assert sum(c.receipts for c in chunks) == 4
    assert chunks[0].conflicts == {"conflicts_conflict": 1}
    stored = _stored(staged)
    assert stored == _stored(sync)
    assert stored["exceptions"] and stored["orders"]  # the comparison compares something
    held = MeterRead.objects.get(meter=staged[0], value=Decimal("180.50"))
    assert held.status == "held" and held.entered_by_id == account.pk
    assert HeadEndRead.objects.filter(settled_at__isnull=True).count() == 0
    assert {r.outcome for r in HeadEndRead.objects.all()} == {"accepted"}
    assert all(r.settled_read_id for r in HeadEndRead.objects.all())


def test_receipt_answers_duplicates_and_conflicts_within_and_across_batches(installed, system):
    """Within a batch the first record of a key is received and its replays compared with it; across batches a
    replay is compared with the receipt — same value duplicate, another value a conflict queued on the waiting
    receipt (never an overwrite)."""
    a, b = installed(), installed()
    first = receive_reads(system, [_record(a, "2026-11-15", "10"), _record(a, "2026-11-15", "10")])
    assert _statuses(first) == ["received", "duplicate"]
    again = receive_reads(
        system,
        [_record(a, "2026-11-15", "10.00"), _record(a, "2026-11-15", "11"), _record(b, "2026-11-15", "3")],
    )
    assert _statuses(again) == ["duplicate", "conflict", "received"]
    receipt = HeadEndRead.objects.get(meter=a)
    assert again[1].receipt == receipt.pk and again[1].exceptions == ["conflicting_replay"]
    assert (receipt.value, receipt.conflicts) == (Decimal("10.00"), ["11.00"])
    entry = AuditEntry.objects.filter(action="readings.receive").latest("id")
    assert entry.after["records"] == 3 and entry.after["records_conflict"] == 1
    settle()
    read = MeterRead.objects.get(meter=a)
    assert (read.value, read.status) == (Decimal("10.00"), "held")
    assert ReadException.objects.get(read=read, rule="conflicting_replay").proposed_value == Decimal("11.00")


def test_a_meter_removed_before_settlement_gets_a_clear_outcome(installed, system):
    """Given a read received for a meter that is then removed, when the receipts are settled, then that receipt
    is rejected with the capture path's reason (not installed) and stores nothing; the others are settled."""
    from gridcare.metering.actions import do_remove_meter

    kept, removed = installed(), installed()
    answer = receive_reads(system, [_record(kept, "2026-11-15", "8"), _record(removed, "2026-11-15", "9")])
    assert _statuses(answer) == ["received", "received"]
    do_remove_meter(system, removed, removed_on=dt.date(2026, 11, 20), final_reads={"active_total": "9"})
    settle()
    gone = HeadEndRead.objects.get(meter=removed)
    assert gone.settled_at is not None and gone.outcome == "rejected" and "not installed" in gone.reason
    assert gone.settled_read_id is None and not MeterRead.objects.filter(meter=removed).exists()
    assert HeadEndRead.objects.get(meter=kept).outcome == "accepted"
    entry = AuditEntry.objects.filter(action="readings.settle").latest("id")
    assert entry.after["receipts"] == 2
    assert entry.after["records_accepted"] == 1 and entry.after["records_rejected"] == 1


def test_the_settle_job_starts_once_the_receipt_commits(installed, api, django_capture_on_commit_callbacks):
    """Without a broker Celery runs the settle task inline: the read is stored right after the batch commits."""
    meter = installed()
    with django_capture_on_commit_callbacks(execute=True):
        answer = api("headend").post(URL, {"records": [_record(meter, "2026-11-15", "12")]}, format="json")
    assert answer.json()["results"][0]["status"] == "received"
    assert MeterRead.objects.get(meter=meter).value == Decimal("12.00")
    assert HeadEndRead.objects.get(meter=meter).settled_read_id == MeterRead.objects.get(meter=meter).pk


def test_a_failing_settle_after_receipt_leaves_the_batch_answered_and_pending(
    installed, api, django_capture_on_commit_callbacks, monkeypatch
):
    """The receipt has committed before the settle job starts: if settling fails, the head-end still gets its
    answer and the receipt stays pending for the sweep."""
    from gridcare.readings.actions import headend

    def broken(**_: Any) -> list[Any]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(headend, "settle", broken)
    meter = installed()
    with django_capture_on_commit_callbacks(execute=True):
        answer = api("headend").post(URL, {"records": [_record(meter, "2026-11-15", "12")]}, format="json")
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "received"
    assert HeadEndRead.objects.get(meter=meter).settled_at is None
    assert not MeterRead.objects.filter(meter=meter).exists()


def test_settle_command_reports_what_it_settled(installed, system):
    from io import StringIO

    from django.core.management import call_command

    meters = [installed() for _ in range(3)]
    receive_reads(system, [_record(m, "2026-11-15", "4") for m in meters])
    out = StringIO()
    call_command("readings", "settle", "--chunk", "2", stdout=out)
    assert "settled 3 receipts in 2 chunks" in out.getvalue() and "records_accepted 3" in out.getvalue()
    assert MeterRead.objects.count() == 3
    assert AuditEntry.objects.filter(action="readings.settle").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_identical_receipt_batches_at_the_same_time(installed, system, settings):
    """Two head-end batches with the same reads at the same moment (PostgreSQL: really overlapping): one receives
    each read, the other answers duplicate — no unique-key error."""
    from tests.concurrency import run_together

    settings.GRIDCARE_HEADEND_SETTLE_AFTER_RECEIPT = False
    meters = [installed() for _ in range(5)]
    batch = [_record(m, "2026-11-15", "42") for m in meters]
    results = run_together([lambda: receive_reads(system, batch)] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(tuple(_statuses(r)) for r in results) == [("duplicate",) * 5, ("received",) * 5]
    assert HeadEndRead.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_settle_jobs_at_the_same_time_settle_each_receipt_once(installed, system, settings):
    """Given pending receipts, when two settle jobs run at once (PostgreSQL: SKIP LOCKED, they share the work),
    then each receipt is settled once: one read each, every receipt settled, the audit rows count each once."""
    from tests.concurrency import run_together

    settings.GRIDCARE_HEADEND_SETTLE_AFTER_RECEIPT = False
    meters = [installed() for _ in range(8)]
    receive_reads(system, [_record(m, "2026-11-15", "7") for m in meters])
    results = run_together([lambda: settle(chunk=2)] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(c.receipts for chunks in results for c in chunks) == 8
    assert MeterRead.objects.count() == 8
    assert not HeadEndRead.objects.filter(settled_at__isnull=True).exists()
    assert sum(e.after["receipts"] for e in AuditEntry.objects.filter(action="readings.settle")) == 8
