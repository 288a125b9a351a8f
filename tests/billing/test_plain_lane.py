"""The array lane of the chunk rating (plain accounts rated straight from the chunk's columns) gives the very bill
rows the general path gives, and every bill of a mixed chunk equals the explain mode to the fen."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from gridcare.billing import actions
from gridcare.billing import rating as chunk_rating
from gridcare.billing.executors import execute
from gridcare.billing.models import Bill
from gridcare.billing.rating import rate_chunk
from gridcare.billing.selectors import explain, load_chunk
from tests.billing.conftest import PERIOD
from tests.billing.test_run import explained, stored

pytestmark = pytest.mark.django_db

TOU = {"active_peak": "400", "active_flat": "350", "active_valley": "250"}


@pytest.fixture
def mixed_chunk(customer, staff):
    """Residential tiers (low and into tier 3), seasonal tiers, general TOU, a two-part large-industry account
    (general path: basic charge and PF) and an account without reads."""
    accounts = [
        customer("CN-ZJ-RES-TIERED", {"active_total": "300"}),
        customer("CN-ZJ-RES-TIERED", {"active_total": "5200.125"}),
        customer("CN-SC-RES-SEASONAL", {"active_total": "250"}),
        customer("CN-SH-GIC-TOU", TOU, customer_class="commercial"),
        customer(
            "CN-LI-2PART-TOU",
            {"active_peak": "400", "active_flat": "300", "active_valley": "200", "reactive_total": "150"},
            capacity="400",
            voltage="10kV",
            customer_class="large_industry",
        ),
        customer("CN-ZJ-RES-TIERED", {}),
    ]
    return accounts


def test_the_array_lane_gives_the_rows_of_the_general_path(staff, mixed_chunk, monkeypatch) -> None:
    run = actions.do_start_run(staff("billing"), period=PERIOD)
    ids = [a.pk for a in mixed_chunk]
    data = load_chunk(run, min(ids), max(ids))
    taken: list[int] = []
    original = chunk_rating._PlainLane.take

    def counting(self, index, entry):  # type: ignore[no-untyped-def]
        took = original(self, index, entry)
        if took:
            taken.append(entry.account)
        return took

    monkeypatch.setattr(chunk_rating._PlainLane, "take", counting)
    lane = rate_chunk(data)
    # every account with what its tariff needs took the lane (the two-part one too: basic charge by capacity,
    # PF from its reactive energy); the one without reads did not
    assert taken == ids[:5]
    monkeypatch.setattr(chunk_rating._PlainLane, "take", lambda self, index, entry: False)
    general = rate_chunk(data)
    assert [dataclasses.asdict(b) for b in lane.bills] == [dataclasses.asdict(b) for b in general.bills]
    assert lane.not_billed == general.not_billed and len(lane.bills) == 5


def test_every_bill_of_a_mixed_chunk_is_the_explain_modes(staff, mixed_chunk) -> None:
    run = execute(actions.do_start_run(staff("billing"), period=PERIOD))
    bills = list(Bill.objects.filter(run=run))
    assert len(bills) == 5
    for bill in bills:
        assert stored(bill) == explained(bill), bill.tariff_code
        assert explain(bill).matches
    high = Bill.objects.get(run=run, account=mixed_chunk[1])
    assert high.energy_kwh == Decimal("5200.125") and "energy_tier3" in stored(high)


def test_a_lane_the_engine_refuses_is_rated_by_the_general_path(staff, mixed_chunk, monkeypatch) -> None:
    run = actions.do_start_run(staff("billing"), period=PERIOD)
    ids = [a.pk for a in mixed_chunk]
    data = load_chunk(run, min(ids), max(ids))
    normal = rate_chunk(data)
    monkeypatch.setattr(chunk_rating._PlainLane, "rate", lambda self: None)
    fallback = rate_chunk(data)
    assert [dataclasses.asdict(b) for b in fallback.bills] == [dataclasses.asdict(b) for b in normal.bills]
    assert [b.account for b in fallback.bills] == ids[:5]


def written(run_id: int) -> list[tuple[object, ...]]:
    """Every stored column of a run's bills and lines but ids and times, in account order."""
    bills = Bill.objects.filter(run_id=run_id).order_by("account_id")
    return [
        (
            b.account_id,
            b.period,
            b.period_start,
            b.period_end,
            b.kind,
            b.status,
            b.tariff_code,
            b.energy_kwh,
            b.tier_ytd_kwh,
            b.tier_kwh,
            b.power_factor,
            b.charges,
            b.funds,
            b.credits,
            b.total,
            b.inputs,
            b.number,
            sorted(b.findings.values_list("rule", "detail")),
            [
                (
                    ln.sequence,
                    ln.code,
                    ln.label,
                    ln.quantity,
                    ln.unit,
                    ln.unit_price,
                    ln.amount,
                    ln.compensation_id,
                )
                for ln in b.lines.order_by("sequence")
            ],
        )
        for b in bills
    ]


def test_the_lanes_columns_are_written_as_the_row_objects_are(staff, mixed_chunk, monkeypatch) -> None:
    # every bill above 500 元 goes to review, so lane bills carry findings (written with their bills' ids)
    actions.do_change_plausibility_rule(
        staff("manager"), "large_amount", enabled=True, params={"threshold_yuan": 500}
    )
    accountant = staff("billing")
    run = execute(actions.do_start_run(accountant, period=PERIOD))
    assert Bill.objects.filter(run=run).count() == 5
    by_lane = written(run.pk)
    in_review = [row for row in by_lane if row[5] == Bill.Status.REVIEW]
    assert in_review and all(rule == "large_amount" for row in in_review for rule, _ in row[17])
    assert any(row[5] == Bill.Status.DRAFT for row in by_lane)
    Bill.objects.filter(run=run).delete()
    monkeypatch.setattr(chunk_rating._PlainLane, "take", lambda self, index, entry: False)
    again = execute(actions.do_start_run(accountant, period=PERIOD))
    assert written(again.pk) == by_lane
