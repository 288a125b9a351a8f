"""Payment plans (灵活付款方案): set by the key account manager within 200,000 元 (above: approved by someone else
whose limit covers it), instalments summing to the arrears covered; in force they suspend dunning and reconnect a
disconnected account; a missed instalment breaks the plan and dunning resumes where it was."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from gridcare.core.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionRefused
from gridcare.ledger import dunning
from gridcare.ledger.actions import do_take_payment
from gridcare.ledger.models import DunningCase, PaymentPlan
from gridcare.ledger.plans import do_check_plans, do_decide_payment_plan, do_set_payment_plan, progress
from tests.ledger.test_dunning import START, clock, in_arrears, service_desk  # noqa: F401

pytestmark = pytest.mark.django_db


def days(n: int) -> str:
    return (START.date() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def key_account(in_arrears, staff):  # noqa: F811
    def build(total: str = "300.00"):
        return in_arrears(total, customer_class="commercial", manager=staff("key_account"))

    return build


def test_plan_within_the_limit_is_in_force_and_suspends_dunning(key_account, staff, cashier, clock):  # noqa: F811
    acc, _ = key_account()
    kam = staff("key_account")
    plan = do_set_payment_plan(
        kam,
        account=acc.pk,
        reason="资金周转困难，分两期",
        instalments=[{"due_date": days(10), "amount": "100.00"}, {"due_date": days(40), "amount": "200.00"}],
    )
    assert plan.status == "in_force" and plan.amount == Decimal("300.00")
    assert dunning.do_run_dunning(cashier()).reminders == 0  # suspended
    reason = dunning.standing([acc.pk]).steps.reason[0]
    assert int(reason) == 1  # PLAN_IN_FORCE
    with pytest.raises(Conflict):
        do_set_payment_plan(
            kam, account=acc.pk, reason="again", instalments=[{"due_date": days(5), "amount": "1.00"}]
        )


def test_bad_plans_are_refused_and_nothing_is_written(key_account, staff, clock):  # noqa: F811
    acc, _ = key_account()
    kam = staff("key_account")
    for rows in (
        [],
        [{"due_date": days(-1), "amount": "100.00"}],
        [{"due_date": days(5), "amount": "0"}],
        [{"due_date": days(5), "amount": "10.001"}],
        [{"due_date": "2026-02-30", "amount": "10"}],
        [{"due_date": days(9), "amount": "10"}, {"due_date": days(5), "amount": "10"}],
        [{"due_date": days(5), "amount": "99999.00"}],  # above what the account owes
    ):
        with pytest.raises(InvalidInput):
            do_set_payment_plan(kam, account=acc.pk, reason="x", instalments=rows)
    with pytest.raises(InvalidInput):
        do_set_payment_plan(
            kam, account=acc.pk, reason=" ", instalments=[{"due_date": days(5), "amount": "1"}]
        )
    other, _ = key_account()
    from gridcare.customers.models import Account

    Account.objects.filter(pk=other.pk).update(account_manager=None)  # not her account: outside her scope
    with pytest.raises(NotFound):
        do_set_payment_plan(
            kam, account=other.pk, reason="x", instalments=[{"due_date": days(5), "amount": "1"}]
        )
    assert not PaymentPlan.objects.exists()


def test_above_the_limit_needs_approval_by_someone_else(key_account, staff, clock):  # noqa: F811
    acc, _ = key_account("250000.00")
    kam = staff("key_account")
    plan = do_set_payment_plan(
        kam,
        account=acc.pk,
        reason="大额分期",
        instalments=[
            {"due_date": days(30), "amount": "125000.00"},
            {"due_date": days(60), "amount": "125000.00"},
        ],
    )
    assert plan.status == "pending"
    with pytest.raises(PermissionRefused):
        do_decide_payment_plan(kam, plan.pk, approve=True)
    with pytest.raises(PermissionRefused):
        do_decide_payment_plan(staff("collector"), plan.pk, approve=True)  # no payment_plan.set
    do_decide_payment_plan(staff("manager"), plan.pk, approve=True)
    plan.refresh_from_db()
    assert plan.status == "in_force" and plan.decided_by == staff("manager")


def test_limit_refusal_names_the_approvers(key_account, staff, clock):  # noqa: F811
    acc, _ = key_account("2500000.00")
    plan = do_set_payment_plan(
        staff("key_account"),
        account=acc.pk,
        reason="x",
        instalments=[{"due_date": days(30), "amount": "2500000.00"}],
    )
    with pytest.raises(LimitExceeded):
        do_decide_payment_plan(staff("manager"), plan.pk, approve=True)  # 2,000,000 元


def test_missed_instalment_breaks_the_plan_and_dunning_resumes(key_account, staff, cashier, clock):  # noqa: F811
    acc, _ = key_account()
    me = cashier()
    dunning.do_run_dunning(me)  # the reminder was sent before the plan
    kam = staff("key_account")
    plan = do_set_payment_plan(
        kam,
        account=acc.pk,
        reason="分两期",
        instalments=[{"due_date": days(3), "amount": "100.00"}, {"due_date": days(10), "amount": "200.00"}],
    )
    do_take_payment(me, account=acc, amount="120.00", method="cash")  # the first instalment on time
    clock.advance(days=5)
    assert do_check_plans(kam).broken == 0
    state = progress(plan)
    assert [(line[1], line[2], line[3]) for line in state.lines][0] == (
        Decimal("100.00"),
        Decimal("120.00"),
        False,
    )
    clock.advance(days=6)  # the second one is missed
    assert do_check_plans(kam).broken == 1
    plan.refresh_from_db()
    assert plan.status == "broken"
    case = DunningCase.objects.get(account=acc)
    assert case.last_step == 1  # resumes where it was: after the reminder, the approval is next
    assert int(dunning.standing([acc.pk]).steps.step[0]) == 2


def test_paid_plan_completes_and_cli(key_account, staff, cashier, clock, capsys):  # noqa: F811
    acc, _ = key_account()
    kam = staff("key_account")
    do_set_payment_plan(
        kam, account=acc.pk, reason="x", instalments=[{"due_date": days(3), "amount": "300.00"}]
    )
    do_take_payment(cashier(), account=acc, amount="400.00", method="cash")
    call_command("ledger", "check-plans", "--as", "key_account")
    assert "0 broken, 1 completed" in capsys.readouterr().out


def test_plans_screen_and_api(client, api, key_account, staff, clock):  # noqa: F811
    acc, _ = key_account()
    client.force_login(staff("key_account"))
    bad = client.post(
        "/ledger/plans/", {"account": acc.number, "reason": "x", "instalments": "2020-01-01 10"}, follow=True
    )
    assert "早于今天" in bad.content.decode() and not PaymentPlan.objects.exists()
    client.post(
        "/ledger/plans/",
        {"account": acc.number, "reason": "分两期", "instalments": f"{days(5)} 100\n{days(20)}，200"},
    )
    plan = PaymentPlan.objects.get()
    assert plan.status == "in_force" and plan.instalments.count() == 2
    page = client.get("/ledger/plans/").content.decode()
    assert acc.number in page and str(plan.get_status_display()) in page and "到期前已缴" in page
    listed = api("key_account").get("/api/ledger/plans/").json()
    assert listed["results"][0]["instalments"][1]["amount"] == "200.00"
    other, _ = key_account("500.00")
    created = api("key_account").post(
        "/api/ledger/plans/",
        {
            "account": other.pk,
            "reason": "一次付清",
            "instalments": [{"due_date": days(7), "amount": "500.00"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="plan-1",
    )
    assert created.status_code == 201, created.content
    refused = api("key_account").post(
        "/api/ledger/plans/",
        {"account": 999999, "reason": "x", "instalments": [{"due_date": days(7), "amount": "1.00"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="plan-2",
    )
    assert refused.status_code == 400
    assert api("collector").get("/api/ledger/plans/").status_code == 403


def test_a_plan_agreed_reconnects_a_disconnected_account(key_account, staff, cashier, clock, service_desk):  # noqa: F811
    acc, _ = key_account()  # commercial: notice period 3 days
    me, kam = cashier(), staff("key_account")
    dunning.do_run_dunning(me)
    clock.advance(days=3)
    case = DunningCase.objects.get(account=acc)
    dunning.do_request_disconnection(me, case.pk, reason="屡催不缴")
    dunning.do_decide_disconnection(staff("manager"), case.pk, approve=True)
    dunning.do_issue_notice(me, case.pk)
    dunning.do_record_delivery(me, case.pk, how="post", recipient="财务部")
    clock.advance(days=5)  # Monday 2026-12-07 10:00, the 3-day notice period over
    dunning.do_disconnect(me, case.pk)
    owed = dunning.standing([acc.pk]).arrears[0]
    do_set_payment_plan(
        kam, account=acc.pk, reason="签订分期协议", instalments=[{"due_date": days(20), "amount": str(owed)}]
    )
    case.refresh_from_db()
    assert case.status == "closed" and case.last_step == 5
    assert case.steps.get(kind="reconnected").work_order.sub_type == "reconnection"
