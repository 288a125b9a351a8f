"""Review (异常电费审核) and release (电费发行): rules send bills to review with findings in words, the accountant
accepts findings, re-rates after a reading correction and releases — one by one or in bulk; a released bill is
numbered, has its due date and never changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from gridcare.billing import actions
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding, BillLine, PlausibilityRule
from gridcare.core.errors import InvalidInput, InvalidTransition, NotFound
from gridcare.readings.models import MeterRead
from tests.billing.conftest import PERIOD
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


def rules(**params: dict[str, int]) -> None:
    for code, values in params.items():
        PlausibilityRule.objects.update_or_create(code=code, defaults={"params": values})


def read_for(account, period: str, quantity: str) -> None:
    """A validated read of ``period`` on the account's meter (as VEE leaves it)."""
    template = MeterRead.objects.filter(service_point__account=account).first()
    year, month = (int(x) for x in period.split("-"))
    MeterRead.objects.create(
        meter=template.meter,
        register="active_total",
        read_at=timezone.make_aware(dt.datetime(year, month, 1, 10)),
        value=Decimal(900),
        source="headend",
        service_point=template.service_point,
        period=period,
        quantity=Decimal(quantity),
        status="valid",
    )


def test_plain_bills_stay_draft_and_flagged_ones_go_to_review_with_findings(staff, customer) -> None:
    plain = customer(registers={"active_total": "300"})
    zero = customer(registers={"active_total": "0"})
    big = customer(registers={"active_total": "5000"})
    rules(large_amount={"threshold_yuan": 1000})
    start_run(staff("billing"), period=PERIOD)
    assert Bill.objects.get(account=plain).status == "draft"
    assert not BillFinding.objects.filter(bill__account=plain).exists()
    zero_bill = Bill.objects.get(account=zero)
    assert zero_bill.status == "review"
    assert [(f.rule, f.detail) for f in zero_bill.findings.all()] == [
        ("zero_bill", "在用户头电费为零（电量 0.000 kWh）")
    ]
    big_bill = Bill.objects.get(account=big)
    finding = big_bill.findings.get()
    assert big_bill.status == "review" and finding.rule == "large_amount"
    assert "超过 1,000 元" in finding.detail and f"{big_bill.total:,.2f} 元" in finding.detail


def test_a_disabled_rule_flags_nothing(staff, customer) -> None:
    zero = customer(registers={"active_total": "0"})
    PlausibilityRule.objects.create(code="zero_bill", enabled=False)
    start_run(staff("billing"), period=PERIOD)
    assert Bill.objects.get(account=zero).status == "draft"


def test_change_against_last_month_fires_beyond_the_percentage_only(staff, customer) -> None:
    jump = customer(registers={"active_total": "200"}, period="2026-10")
    steady = customer(registers={"active_total": "200"}, period="2026-10")
    start_run(staff("billing"), period="2026-10")
    read_for(jump, PERIOD, "400")  # +100 %
    read_for(steady, PERIOD, "220")  # +10 %
    start_run(staff("billing"), period=PERIOD)
    flagged = Bill.objects.get(account=jump, period=PERIOD)
    assert flagged.status == "review"
    detail = flagged.findings.get(rule="change_vs_last_month").detail
    assert detail.startswith(f"本月电费 {flagged.total:,.2f} 元，上月 ") and "+100.0 %" in detail
    assert Bill.objects.get(account=steady, period=PERIOD).status == "draft"


def test_estimated_determinants_and_a_tariff_change_are_findings(staff, system, customer) -> None:
    from gridcare.customers.actions import do_change_tariff

    estimated = customer()
    MeterRead.objects.filter(service_point__account=estimated).update(source=MeterRead.Source.ESTIMATE)
    changed = customer()
    do_change_tariff(
        system,
        changed.service_points.get(),
        tariff_code="CN-SC-RES-SEASONAL",
        valid_from=dt.date(2026, 10, 20),
    )
    start_run(staff("billing"), period=PERIOD)
    assert list(Bill.objects.get(account=estimated).findings.values_list("rule", flat=True)) == ["estimated"]
    finding = Bill.objects.get(account=changed).findings.get()
    assert finding.rule == "tariff_change"
    assert finding.detail == "本期电价变更，按天分段计费：CN-ZJ-RES-TIERED/CN-SC-RES-SEASONAL"


def test_release_numbers_dates_and_freezes_the_bill(staff, customer) -> None:
    home = customer()
    business = customer(
        "CN-SH-GIC-TOU",
        {"active_total": "100", "active_peak": "40", "active_flat": "30", "active_valley": "30"},
        customer_class="commercial",
    )
    start_run(staff("billing"), period=PERIOD)
    accountant = staff("billing")
    released = actions.do_release_bills(accountant, Bill.objects.filter(period=PERIOD))
    assert released == 2
    today = timezone.localdate()
    bill = Bill.objects.get(account=home)
    other = Bill.objects.get(account=business)
    assert bill.status == "released" and bill.released_by == accountant and bill.released_at is not None
    assert bill.number.startswith("DF202611") and len(bill.number) == 16 and bill.number != other.number
    assert bill.due_date == today + dt.timedelta(days=15)  # residential
    assert other.due_date == today + dt.timedelta(days=10)  # the other classes
    for change in (
        lambda: Bill.objects.filter(pk=bill.pk).update(total=Decimal("1.00")),
        lambda: Bill.objects.filter(pk=bill.pk).update(status="draft"),
        lambda: BillLine.objects.filter(bill=bill).update(amount=Decimal("0.01")),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    with pytest.raises(InvalidTransition):
        actions.do_release_bills(accountant, Bill.objects.filter(pk=bill.pk), single=True)
    with pytest.raises(InvalidTransition):
        actions.do_rerate_bill(accountant, bill.pk)
    Bill.objects.filter(pk=bill.pk).update(status="cancelled")  # cancelling for a rebill is the one change
    assert actions.do_release_bills(accountant, Bill.objects.filter(period=PERIOD)) == 0


def test_bulk_release_releases_the_filtered_set_only(staff, customer) -> None:
    accounts = [customer() for _ in range(5)]
    zero = customer(registers={"active_total": "0"})
    start_run(staff("billing"), period=PERIOD)
    released = actions.do_release_bills(staff("billing"), Bill.objects.filter(status="draft"))
    assert released == 5
    assert set(Bill.objects.filter(status="released").values_list("account", flat=True)) == {
        a.pk for a in accounts
    }
    assert Bill.objects.get(account=zero).status == "review"
    assert len(set(Bill.objects.exclude(number=None).values_list("number", flat=True))) == 5


def test_accepting_every_finding_makes_the_bill_draft_again(staff, customer) -> None:
    zero = customer(registers={"active_total": "0"})
    start_run(staff("billing"), period=PERIOD)
    finding = BillFinding.objects.get(bill__account=zero)
    with pytest.raises(InvalidInput):
        actions.do_accept_finding(staff("billing"), finding.pk, " ")
    actions.do_accept_finding(staff("billing"), finding.pk, "用户空置，已电话核实")
    finding.refresh_from_db()
    assert (
        finding.accepted
        and finding.reason == "用户空置，已电话核实"
        and finding.accepted_by == staff("billing")
    )
    assert Bill.objects.get(account=zero).status == "draft"


def test_re_rating_after_a_reading_correction_changes_the_amount(staff, customer) -> None:
    account = customer(registers={"active_total": "0"})
    start_run(staff("billing"), period=PERIOD)
    old = Bill.objects.get(account=account)
    assert old.total == 0 and old.status == "review"
    MeterRead.objects.filter(service_point__account=account, period=PERIOD).update(quantity=Decimal("300"))
    new = actions.do_rerate_bill(staff("billing"), old.pk)
    assert new.total == Decimal("161.40") and new.status == "draft"
    assert not Bill.objects.filter(pk=old.pk).exists() and not new.findings.exists()
    assert new.run.total == Decimal("161.40")


def test_release_is_scoped_outside_scope_does_not_exist(staff, customer) -> None:
    account = customer()
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=account)
    outsider = staff("hx_rep")  # 河西: the 城关 bill is not theirs
    with pytest.raises(NotFound):
        actions.do_rerate_bill(staff("billing"), 10**9)
    from gridcare.core.access import restrict

    assert not restrict(Bill.objects.filter(pk=bill.pk), outsider, write=True).exists()
    with pytest.raises(NotFound):
        actions.do_release_bills.__wrapped__(outsider, Bill.objects.filter(pk=bill.pk), single=True)
    assert Bill.objects.get(pk=bill.pk).status == "draft"


@pytest.mark.django_db(transaction=True)
def test_bill_numbers_are_unique_when_releases_run_at_the_same_time(staff, customer) -> None:
    for _ in range(6):
        customer()
    start_run(staff("billing"), period=PERIOD)
    accountant = staff("billing")
    ids = list(Bill.objects.order_by("pk").values_list("pk", flat=True))
    results = run_together(
        [
            lambda part=ids[i::3]: actions.do_release_bills(accountant, Bill.objects.filter(pk__in=part))
            for i in range(3)
        ]
    )
    assert results == [2, 2, 2], results
    numbers = list(Bill.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 6 and None not in numbers
