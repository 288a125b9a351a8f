"""A billing run: the right amounts, splits, tier year, compensations, reasons, and never a second bill."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.billing.executors import execute, start_run
from gridcare.billing.models import Bill, BillingRun, NotBilled, RunChunk
from gridcare.billing.rating import usage_from_dict
from gridcare.core.errors import InvalidInput, NotFound
from gridcare.engine.rating import rate
from gridcare.tariffs.models import Tariff
from gridcare.tariffs.selectors import engine_tariff
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db


def explained(bill: Bill) -> dict[str, Decimal]:
    """The explain mode's amount per line code for the bill's stored inputs (the independent oracle)."""
    out: dict[str, Decimal] = {}
    for part in bill.inputs["usages"]:
        data = dict(part)
        tariff = engine_tariff(Tariff.objects.get(code=data.pop("tariff")))
        for code, amount in rate(tariff, usage_from_dict(data)).by_code().items():
            out[code] = out.get(code, Decimal("0.00")) + amount
    return {k: v for k, v in out.items() if v}


def stored(bill: Bill) -> dict[str, Decimal]:
    return {ln.code: ln.amount for ln in bill.lines.all() if ln.code != "compensation"}


def test_a_run_bills_known_determinants_as_the_explain_mode_does(staff, customer) -> None:
    # given accounts on a tiered, a seasonal and a two-part TOU tariff with validated reads
    tiered = customer("CN-ZJ-RES-TIERED", {"active_total": "300"})
    seasonal = customer("CN-SC-RES-SEASONAL", {"active_total": "250"})
    industry = customer(
        "CN-LI-2PART-TOU",
        {
            "active_sharp": "100",
            "active_peak": "400",
            "active_flat": "300",
            "active_valley": "200",
            "reactive_total": "600",
        },
        capacity="400",
        voltage="10kV",
        customer_class="large_industry",
    )
    # when the billing accountant runs the period
    run = start_run(staff("billing"), period=PERIOD)
    # then every account has one draft bill whose lines are the explain mode's, to the fen
    assert run.status == BillingRun.Status.DONE
    assert run.bills == 3 and run.not_billed == 0
    bills = {b.account_id: b for b in Bill.objects.filter(run=run)}
    assert set(bills) == {tiered.pk, seasonal.pk, industry.pk}
    for bill in bills.values():
        assert stored(bill) == explained(bill), bill.tariff_code
        assert bill.total == sum(ln.amount for ln in bill.lines.all())
        assert bill.status == Bill.Status.DRAFT
    # 300 kWh in tier 1 at 0.538 元
    assert bills[tiered.pk].total == Decimal("161.40")
    # the two-part bill: basic charge on 400 kVA at 23 元, TOU energy, PF adjustment and four funds
    codes = set(stored(bills[industry.pk]))
    assert {"basic_capacity", "energy_peak", "power_factor", "fund:rural_grid_loan"} <= codes
    assert bills[industry.pk].power_factor == Decimal("0.86")
    assert run.total == sum(b.total for b in bills.values())


def test_a_tariff_version_change_in_the_period_splits_by_days(staff, system, customer) -> None:
    from gridcare.tariffs.actions import do_add_tariff_version

    account = customer("CN-SC-RES-SEASONAL", {"active_total": "310"})
    tariff = Tariff.objects.get(code="CN-SC-RES-SEASONAL")
    body = dict(tariff.versions.get().body)
    body["components"] = [
        {
            **body["components"][0],
            "tiers": [
                {"upto": 180, "price": "0.6"},
                {"upto": 280, "price": "0.65"},
                {"upto": None, "price": "0.9"},
            ],
        }
    ]
    do_add_tariff_version(system, tariff, {**body, "valid_from": "2026-10-21", "valid_to": None})
    run = start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(run=run, account=account)
    # October 1–20 on the old prices, 21–31 on the new: 20/31 and 11/31 of the kWh and of the monthly tiers
    # part 1: 200 kWh, tiers to 116.129 / 180.645 kWh at 0.5224 / 0.5724 / 0.8224 → 60.67 + 36.93 + 15.92
    # part 2: 110 kWh, tiers to 63.871 / 99.355 kWh at 0.6 / 0.65 / 0.9 → 38.32 + 23.06 + 9.58
    assert stored(bill) == {
        "energy_tier1": Decimal("98.99"),
        "energy_tier2": Decimal("59.99"),
        "energy_tier3": Decimal("25.50"),
    }
    assert stored(bill) == explained(bill)
    assert bill.total == Decimal("184.48")
    assert all(
        ln.unit_price is None for ln in bill.lines.all()
    )  # two prices: each part's is in the explanation
    assert [u["period_end"] for u in bill.inputs["usages"]] == ["2026-11-01"]


def test_the_tier_year_accumulates_over_earlier_bills(staff, customer) -> None:
    account = customer("CN-ZJ-RES-TIERED", {"active_total": "2700"}, period="2026-10")
    start_run(staff("billing"), period="2026-10")
    from gridcare.readings.models import MeterRead

    first = MeterRead.objects.filter(service_point__account=account).first()
    MeterRead.objects.create(
        meter=first.meter,
        register="active_total",
        read_at=first.read_at + dt.timedelta(days=31),
        value=1,
        source="headend",
        service_point=first.service_point,
        period=PERIOD,
        quantity=Decimal("300"),
    )
    run = start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(run=run, account=account)
    # 2,700 kWh billed earlier in the year: 60 kWh left in tier 1, 240 kWh in tier 2
    assert bill.tier_ytd_kwh == Decimal("2700")
    lines = stored(bill)
    assert lines == {"energy_tier1": Decimal("32.28"), "energy_tier2": Decimal("141.12")}
    assert lines == explained(bill)


def test_an_approved_compensation_is_credited_once(staff, system, customer) -> None:
    from gridcare.service import actions as service
    from gridcare.service.models import Compensation

    account = customer()
    point = account.service_points.get()
    order = service.do_create_order(
        staff("cg_rep"),
        order_type="complaint",
        sub_type="service",
        service_point=point.pk,
        contact_phone="13900000000",
    )
    compensation = service.do_propose_compensation(staff("cg_rep"), order, amount="20.00", reason="超时未到")
    service.do_approve_compensation(staff("cs_supervisor"), compensation, note="同意")
    run = start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(run=run, account=account)
    credit = bill.lines.get(code="compensation")
    assert credit.amount == Decimal("-20.00") and credit.compensation_id == compensation.pk
    assert bill.credits == Decimal("20.00") and bill.total == Decimal("141.40")
    compensation.refresh_from_db()
    assert compensation.credited
    # the next period does not credit it again
    assert not Bill.objects.filter(lines__compensation=compensation).exclude(pk=bill.pk).exists()
    assert Compensation.objects.filter(credited=False, status="approved").count() == 0


def test_accounts_not_billed_are_listed_with_the_reason(staff, customer) -> None:
    no_reads = customer(registers={})
    held = customer(status="held")
    tou_without_registers = customer("CN-SH-GIC-TOU", {"active_total": "100"}, customer_class="commercial")
    ok = customer()
    run = start_run(staff("billing"), period=PERIOD)
    reasons = dict(NotBilled.objects.filter(run=run).values_list("account_id", "reason"))
    assert reasons[no_reads.pk] == NotBilled.Reason.MISSING_READS
    assert reasons[held.pk] == NotBilled.Reason.OPEN_EXCEPTIONS
    assert reasons[tou_without_registers.pk] == NotBilled.Reason.MISSING_REGISTERS
    assert ok.pk not in reasons and Bill.objects.filter(run=run, account=ok).exists()
    assert run.not_billed == len(reasons) and run.bills + run.not_billed == run.accounts


def test_a_second_run_of_the_period_bills_nothing_twice(staff, customer) -> None:
    account = customer()
    first = start_run(staff("billing"), period=PERIOD)
    second = start_run(staff("billing"), period=PERIOD)
    assert Bill.objects.filter(account=account, period=PERIOD).count() == 1
    assert NotBilled.objects.get(run=second, account=account).reason == NotBilled.Reason.ALREADY_BILLED
    assert first.bills == 1 and second.bills == 0


def test_re_running_a_done_chunk_makes_no_second_bill(staff, customer) -> None:
    from gridcare.billing.actions import do_rate_chunk

    customer()
    run = start_run(staff("billing"), period=PERIOD)
    chunk = RunChunk.objects.get(run=run)
    do_rate_chunk(staff("billing"), chunk.pk)
    # resuming a finished run rates nothing either
    execute(run)
    assert Bill.objects.filter(period=PERIOD).count() == 1
    chunk.refresh_from_db()
    assert chunk.attempts == 1 and chunk.status == RunChunk.Status.DONE


def test_a_run_is_cut_into_chunks_of_account_ranges(staff, customer) -> None:
    accounts = [customer() for _ in range(5)]
    run = start_run(staff("billing"), period=PERIOD, chunk_size=2)
    chunks = list(RunChunk.objects.filter(run=run).order_by("number"))
    assert [c.accounts for c in chunks] == [2, 2, 1]
    assert chunks[0].first_account == min(a.pk for a in accounts)
    assert all(c.status == RunChunk.Status.DONE for c in chunks) and run.bills == 5


def test_bad_input_is_refused_and_changes_nothing(staff, customer, counts) -> None:
    known = customer()
    before = counts(BillingRun, Bill)
    with pytest.raises(InvalidInput) as bad:
        start_run(staff("billing"), period="2026-13")
    assert "period" in bad.value.errors
    with pytest.raises(InvalidInput) as bad:
        start_run(staff("billing"), period=PERIOD, executor="threads")
    assert "executor" in bad.value.errors
    with pytest.raises(InvalidInput) as bad:
        start_run(staff("billing"), period=PERIOD, executor="process", workers=500)
    assert "workers" in bad.value.errors
    with pytest.raises(InvalidInput) as bad:  # an account that does not exist (or is outside the scope)
        start_run(staff("billing"), period=PERIOD, accounts=[known.pk, known.pk + 10_000])
    assert str(known.pk + 10_000) in bad.value.errors["accounts"][0]
    assert counts(BillingRun, Bill) == before
    with pytest.raises(NotFound):
        from gridcare.readings.models import Route

        start_run(staff("billing"), period=PERIOD, route=Route(pk=999_999))


def test_the_command_runs_a_period_and_resumes_a_run(staff, customer, capsys) -> None:
    from django.core.management import call_command

    customer()
    call_command("billing", "run", "--period", PERIOD, "--as", "billing")
    out = capsys.readouterr().out
    run = BillingRun.objects.get()
    assert "100%" in out and "1/1" in out and "1 bills" in out  # the progress bar, at its end
    assert "bills/s" in out and f"run {run.pk} {PERIOD}" in out
    call_command("billing", "run", "--resume", str(run.pk), "--quiet")
    assert Bill.objects.count() == 1
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("billing", "run", "--period", "11/2026")


def test_what_a_tariff_needs_besides_energy_is_named(staff, customer) -> None:
    # a two-part customer billed by demand (contracted demand) without interval data: no maximum demand
    by_demand = customer(
        "CN-LI-2PART-TOU",
        {"active_peak": "400", "active_flat": "300", "active_valley": "200", "reactive_total": "100"},
        capacity="400",
        demand="200",
        voltage="10kV",
        customer_class="large_industry",
    )
    # a PF-assessed tariff without reactive energy
    no_reactive = customer(
        "CN-LI-2PART-TOU",
        {"active_peak": "400", "active_flat": "300", "active_valley": "200"},
        capacity="400",
        voltage="10kV",
        customer_class="large_industry",
    )
    run = start_run(staff("billing"), period=PERIOD)
    reasons = {n.account_id: n for n in NotBilled.objects.filter(run=run)}
    assert reasons[by_demand.pk].reason == NotBilled.Reason.MISSING_DEMAND
    assert reasons[no_reactive.pk].reason == NotBilled.Reason.MISSING_REGISTERS
    assert "无功" in reasons[no_reactive.pk].detail
