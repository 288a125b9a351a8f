"""Cancel/rebill (退补): each type's arithmetic against a hand-computed example (RULES.md §1 numbers), the authority
limit and approval, refusals (draft, outside scope, no reason, no difference), and nothing edited in place."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gridcare.billing.actions import do_release_bills
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, Rebill
from gridcare.billing.rebill_actions import (
    do_approve_rebill,
    do_post_rebill,
    do_propose_rebill,
    do_reject_rebill,
    do_submit_rebill,
    do_withdraw_rebill,
)
from gridcare.core.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    LimitExceeded,
    NotFound,
    PermissionRefused,
)
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def released(staff, customer):
    """A released bill of a new account (``customer`` arguments)."""

    def build(*args: Any, **kwargs: Any) -> Bill:
        account = customer(*args, **kwargs)
        billing = staff("billing")
        start_run(billing, period=PERIOD, accounts=[account.pk])
        do_release_bills(billing, Bill.objects.filter(account=account))
        return Bill.objects.get(account=account)

    return build


def amounts(case: Rebill) -> list[tuple[str, Decimal]]:
    item = case.items.get()
    return [(ln["code"], D(ln["amount"])) for ln in item.explanation["lines"]]


def test_correction_of_a_register_is_re_rated_and_posted_as_a_correcting_bill(staff, released) -> None:
    bill = released()  # 300 kWh × 0.538 = 161.40 元 (浙江居民年阶梯 tier 1)
    assert bill.total == D("161.40")
    snapshot = (
        bill.total,
        bill.energy_kwh,
        bill.number,
        bill.status,
        list(bill.lines.values_list("amount", flat=True)),
    )
    billing = staff("billing")
    case = do_propose_rebill(
        billing,
        kind="correction",
        reason="抄表员误抄，实抄 250 kWh",
        bills=[bill.pk],
        params={"registers": {"active_total": "250"}},
    )
    # 250 × 0.538 = 134.50 → −26.90
    assert (case.status, case.difference, case.penalty, case.total) == (
        "draft",
        D("-26.90"),
        D("0.00"),
        D("-26.90"),
    )
    assert amounts(case) == [("energy_tier1", D("-26.90"))]
    case = do_submit_rebill(billing, case.pk)
    assert case.status == "approved" and case.decided_by == billing  # within the accountant's 2,000 元
    case = do_post_rebill(billing, case.pk)
    item = case.items.get()
    correcting = item.correcting_bill
    assert case.status == "posted" and correcting is not None
    assert (correcting.kind, correcting.status, correcting.total) == ("correcting", "released", D("-26.90"))
    assert correcting.number and correcting.energy_kwh == D("-50.000") and correcting.period == bill.period
    assert list(correcting.lines.values_list("code", "quantity", "amount")) == [
        ("energy_tier1", None, D("-26.90"))  # tier quantities are in the explanation
    ]
    bill.refresh_from_db()  # nothing edited in place
    assert snapshot == (
        bill.total,
        bill.energy_kwh,
        bill.number,
        bill.status,
        list(bill.lines.values_list("amount", flat=True)),
    )
    assert list(bill.rebill_items.values_list("correcting_bill", flat=True)) == [correcting.pk]
    # a second correction starts from the corrected state: 250 → 280 kWh = +30 × 0.538 = +16.14
    again = do_propose_rebill(
        billing,
        kind="correction",
        reason="复核后实为 280",
        bills=[bill.pk],
        params={"registers": {"active_total": "280"}},
    )
    assert again.total == D("16.14")


def test_meter_error_back_bills_half_the_period_since_verification_from_zero_error(staff, released) -> None:
    bill = released()  # period 2026-10-01 – 2026-11-01, 300 kWh, 161.40 元
    case = do_propose_rebill(
        staff("billing"),
        kind="meter_error",
        reason="电能表校验误差 +5%",
        bills=[bill.pk],
        params={"error_pct": "5", "verified_on": "2026-01-01", "corrected_on": "2026-12-01"},
    )
    # window: half of 334 days before 2026-12-01 → from 2026-06-17; the bill's 31 days are all in it;
    # 300 / 1.05 = 285.714 kWh × 0.538 = 153.71 → −7.69
    assert case.total == D("-7.69") and case.penalty == 0
    item = case.items.get()
    assert item.energy_difference == D("-14.286")
    assert "退补期 2026-06-17 至 2026-12-01" in item.explanation["notes"][0]
    do_withdraw_rebill(staff("billing"), case.pk)
    # a bill outside the window is refused with the window
    with pytest.raises(InvalidInput) as refused:
        do_propose_rebill(
            staff("billing"),
            kind="meter_error",
            reason="误差",
            bills=[bill.pk],
            params={"error_pct": "5", "verified_on": "2026-10-01", "corrected_on": "2027-06-01"},
        )
    assert "不在退补期 2027-01-30 至 2027-06-01 内" in refused.value.message


def test_meter_error_window_covers_part_of_a_bill(staff, released) -> None:
    bill = released()
    # window: 2026-12-01 − half of (2026-12-01 − 2026-09-01 = 91 days → 46 days) = from 2026-10-16: 16 of 31 days
    case = do_propose_rebill(
        staff("billing"),
        kind="meter_error",
        reason="电能表慢 2%",
        bills=[bill.pk],
        params={"error_pct": "-2", "verified_on": "2026-09-01", "corrected_on": "2026-12-01"},
    )
    # factor 1 − 16/31 × (−2)/98 = 1.010533…; 300 × it = 303.160 kWh × 0.538 = 163.10 → +1.70
    assert case.items.get().energy_difference == D("3.160") and case.total == D("1.70")


def test_violation_of_the_tariff_class_back_bills_the_difference_and_twice_as_penalty(
    staff, released
) -> None:
    bill = released(registers={"active_total": "300", "active_peak": "200", "active_valley": "100"})
    assert bill.total == D("161.40")
    case = do_propose_rebill(
        staff("billing"),
        kind="violation",
        reason="居民电价用于商业经营",
        bills=[bill.pk],
        params={"violation": "tariff", "tariff_code": "CN-SH-GIC-TOU"},
    )
    # 一般工商业 2025: peak 200 × 1.02 = 204.00, valley 100 × 0.34 = 34.00, funds 300 × (0.02 + 0.019 + 0.003
    # + 0.0062) = 6.00 + 5.70 + 0.90 + 1.86 = 14.46 → 252.46 − 161.40 = 91.06; penalty 2 × charges 76.60 = 153.20
    assert (case.difference, case.penalty, case.total) == (D("91.06"), D("153.20"), D("244.26"))
    item = case.items.get()
    assert item.explanation["lines"][-1]["code"] == "penalty"
    assert item.explanation["lines"][-1]["label"] == "违约使用电费（追补电费 76.60 元 × 2）"


def test_capacity_overrun_of_a_two_part_customer_back_bills_the_basic_charge_and_three_times(
    staff, released
) -> None:
    bill = released(
        "CN-LI-2PART-TOU",
        registers={
            "active_peak": "1000",
            "active_flat": "1000",
            "active_valley": "1000",
            "reactive_total": "1450",
        },
        capacity="400",
        customer_class="large_industry",
        kind="organisation",
    )
    case = do_propose_rebill(
        staff("billing"),
        kind="violation",
        reason="私增变压器 100 kVA",
        bills=[bill.pk],
        params={"violation": "capacity", "overrun_kva": "100"},
    )
    # basic charge 23 元/kVA·月 × 100 kVA = 2,300.00 (PF 0.90 = standard: no adjustment); penalty 3 × = 6,900.00
    assert (case.difference, case.penalty, case.total) == (D("2300.00"), D("6900.00"), D("9200.00"))


def test_capacity_overrun_of_a_single_part_customer_is_50_yuan_per_kw(staff, released) -> None:
    bill = released()
    case = do_propose_rebill(
        staff("billing"),
        kind="violation",
        reason="私增容量 5 kW",
        bills=[bill.pk],
        params={"violation": "capacity", "overrun_kva": "5"},
    )
    assert (case.difference, case.penalty, case.total) == (D("0.00"), D("250.00"), D("250.00"))


def test_theft_with_known_energy_back_bills_it_and_three_times(staff, released) -> None:
    bill = released()
    case = do_propose_rebill(
        staff("billing"),
        kind="theft",
        reason="绕越电能表用电，查实 200 kWh",
        bills=[bill.pk],
        params={"stolen_kwh": "200"},
    )
    # 500 × 0.538 = 269.00 → +107.60; penalty 3 × 107.60 = 322.80
    assert (case.difference, case.penalty, case.total) == (D("107.60"), D("322.80"), D("430.40"))


def test_theft_with_unknown_period_is_180_days_at_6_hours_for_lighting(staff, released) -> None:
    bill = released(
        "CN-SC-RES-SEASONAL"
    )  # 四川月阶梯, November: ≤180 at 0.5224, ≤280 at 0.5724, above 0.8224
    assert bill.total == D("167.72")  # 94.03 + 57.24 + 20 × 0.8224 = 16.45
    billing = staff("billing")
    case = do_propose_rebill(
        billing,
        kind="theft",
        reason="私拉电线窃电，时间无法查明",
        account=bill.account_id,
        params={"period_unknown": True, "rated_kw": "2"},
    )
    # 2 kW × 180 days × 6 h = 2,160 kWh more: 2,460 kWh → 94.03 + 57.24 + 2,180 × 0.8224 = 1,792.83 → 1,944.10;
    # difference 1,776.38; penalty 3 × = 5,329.14
    assert case.params["stolen_kwh"] == "2160.000"
    assert (case.difference, case.penalty, case.total) == (D("1776.38"), D("5329.14"), D("7105.52"))
    # above the accountant's 2,000 元: waits for a position whose limit covers it
    case = do_submit_rebill(billing, case.pk)
    assert case.status == "pending" and "营销服务部经理" in case.approvers
    with pytest.raises(InvalidTransition):
        do_post_rebill(billing, case.pk)
    with pytest.raises(PermissionRefused):  # the accountant may not approve (no permission, and it is theirs)
        do_approve_rebill(billing, case.pk)
    case = do_approve_rebill(staff("manager"), case.pk, note="已核实")
    assert (case.status, case.decided_by) == ("approved", staff("manager"))
    case = do_post_rebill(billing, case.pk)
    assert case.items.get().correcting_bill.total == D("7105.52")


def test_no_approval_above_the_approvers_own_limit_nor_of_ones_own_case(staff, released, system) -> None:
    from gridcare.org.models import AuthorityLimit

    bill = released("CN-SC-RES-SEASONAL")
    billing, manager = staff("billing"), staff("manager")
    case = do_propose_rebill(
        billing,
        kind="theft",
        reason="窃电",
        bills=[bill.pk],
        params={"period_unknown": True, "rated_kw": "2"},
        submit=True,
    )
    assert case.status == "pending"
    AuthorityLimit.objects.filter(position=manager.position, limit_type__code="bill_adjustment").update(
        amount=5000
    )
    with pytest.raises(LimitExceeded) as above:
        do_approve_rebill(manager, case.pk)
    assert "分管营销副总经理" in above.value.approvers
    with pytest.raises(InvalidInput):
        do_reject_rebill(manager, case.pk, note="")
    case = do_reject_rebill(manager, case.pk, note="证据不足")
    assert case.status == "rejected" and not Bill.objects.filter(kind="correcting").exists()
    # an approver proposing a case cannot approve it
    vp = staff("vp")
    other = do_propose_rebill(
        billing, kind="theft", reason="窃电", bills=[bill.pk], params={"stolen_kwh": "5000"}, submit=True
    )
    assert other.status == "pending"
    other.proposed_by = vp
    other.save(update_fields=["proposed_by"])
    with pytest.raises(PermissionRefused):
        do_approve_rebill(vp, other.pk)


def test_refusals_draft_bill_no_reason_outside_scope_no_difference_and_open_case(
    staff, customer, released
) -> None:
    billing = staff("billing")
    draft_account = customer()
    start_run(billing, period=PERIOD, accounts=[draft_account.pk])
    draft = Bill.objects.get(account=draft_account)
    with pytest.raises(InvalidInput) as refused:
        do_propose_rebill(billing, kind="theft", reason="窃电", bills=[draft.pk], params={"stolen_kwh": "10"})
    assert "只有已发行的账单才能退补" in refused.value.message
    bill = released()
    with pytest.raises(InvalidInput) as refused:
        do_propose_rebill(billing, kind="theft", reason="  ", bills=[bill.pk], params={"stolen_kwh": "10"})
    assert refused.value.errors == {"reason": ["请填写退补原因。 (Give the reason for the rebill.)"]}
    with pytest.raises(InvalidInput) as refused:
        do_propose_rebill(
            billing,
            kind="correction",
            reason="复核",
            bills=[bill.pk],
            params={"registers": {"active_total": "300"}},
        )
    assert "没有差额" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        do_propose_rebill(
            billing, kind="meter_error", reason="误差", bills=[bill.pk], params={"error_pct": "abc"}
        )
    assert set(refused.value.errors) == {"error_pct", "verified_on"}
    with pytest.raises(NotFound):
        do_propose_rebill(billing, kind="theft", reason="窃电", bills=[10**9], params={"stolen_kwh": "10"})
    with pytest.raises(InvalidInput) as refused:
        do_propose_rebill(
            billing,
            kind="theft",
            reason="窃电",
            account=bill.account_id,
            periods=["2026-05"],
            params={"stolen_kwh": "1"},
        )
    assert "2026-05" in refused.value.message
    case = do_propose_rebill(
        billing, kind="theft", reason="窃电", bills=[bill.pk], params={"stolen_kwh": "10"}
    )
    with pytest.raises(Conflict) as busy:
        do_propose_rebill(billing, kind="theft", reason="窃电", bills=[bill.pk], params={"stolen_kwh": "10"})
    assert case.number in busy.value.message
    with pytest.raises(PermissionRefused):
        do_withdraw_rebill(staff("manager"), case.pk)
    assert do_withdraw_rebill(billing, case.pk).status == "withdrawn"
    assert Rebill.objects.count() == 1 and not Bill.objects.filter(kind="correcting").exists()
    with pytest.raises(PermissionRefused):  # a service representative proposes no rebills
        do_propose_rebill(
            staff("cg_rep"), kind="theft", reason="窃电", bills=[bill.pk], params={"stolen_kwh": "10"}
        )


def test_a_released_bill_row_refuses_any_change_in_the_database(staff, released) -> None:
    from django.db import IntegrityError, InternalError, transaction

    bill = released()
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Bill.objects.filter(pk=bill.pk).update(total=D("1.00"))


def test_violation_with_unknown_period_takes_the_last_released_bills(staff, released) -> None:
    bill = released(registers={"active_total": "300", "active_peak": "200", "active_valley": "100"})
    case = do_propose_rebill(
        staff("billing"),
        kind="violation",
        reason="改变用电类别，时间无法查明",
        account=bill.account_id,
        params={"violation": "tariff", "tariff_code": "CN-SH-GIC-TOU", "period_unknown": True},
    )
    # up to VIOLATION_UNKNOWN_MONTHS (3) released bills: this account has one
    assert case.params["period_unknown"] is True and [i.bill_id for i in case.items.all()] == [bill.pk]
    assert case.total == D("244.26")


def test_out_of_range_inputs_are_refused_with_the_field(staff, released) -> None:
    bill = released()
    billing = staff("billing")
    cases = [
        ("meter_error", {"error_pct": "60", "verified_on": "2026-01-01"}, "error_pct"),
        ("theft", {"period_unknown": True, "rated_kw": "100000"}, "rated_kw"),
        ("theft", {"stolen_kwh": 1.5}, "stolen_kwh"),
        ("correction", {"registers": {"active_total": "1e9"}}, "registers"),
        ("correction", {"registers": {"bogus": "1"}}, "registers"),
        ("violation", {"violation": "capacity", "overrun_kva": "-1"}, "overrun_kva"),
        ("violation", {"violation": "other"}, "violation"),
        ("refund", {}, "kind"),
    ]
    for kind, params, field in cases:
        with pytest.raises(InvalidInput) as refused:
            do_propose_rebill(billing, kind=kind, reason="检查", bills=[bill.pk], params=params)
        assert field in refused.value.errors, (kind, params, refused.value.errors)
    assert not Rebill.objects.exists()
