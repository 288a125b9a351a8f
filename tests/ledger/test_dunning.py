"""Dunning → disconnection → reconnection (催费·停电·复电): the job sends reminders set-based and is safe twice at
once; approval (not by the requester), the 停电通知书 and its delivery, disconnection only when the engine allows it,
the disconnection work order, and the reconnection order (24 h) created inside the payment that clears the arrears."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from gridcare.core.errors import Conflict, InvalidInput, PermissionRefused
from gridcare.core.locks import JobBusy
from gridcare.ledger import dunning
from gridcare.ledger.actions import do_take_payment
from gridcare.ledger.models import DunningCase, DunningStep
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db

# Wednesday 2 December 2026, 10:00 in Asia/Shanghai: a working day inside every contact/disconnection window
START = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def service_desk(org):
    """The service desk's SLA policies (the 复电 24 h clock), loaded like the service tests do."""
    from gridcare.service.defaults import load_defaults
    from gridcare.service.rules import forget_rules

    forget_rules()
    load_defaults()
    yield
    forget_rules()


@pytest.fixture
def clock():
    c = Clock()
    with mock.patch("django.utils.timezone.now", side_effect=c):
        yield c


@pytest.fixture
def in_arrears(account, release, clock):
    """An account whose bill was released 90 days ago (so > 30 days overdue now)."""

    def build(total: str = "300.00", **kwargs):
        acc = account(**kwargs)
        now = clock.now
        clock.now = now - dt.timedelta(days=90)
        try:
            bill = release(acc, total, period=f"{clock.now:%Y-%m}")
        finally:
            clock.now = now
        return acc, bill

    return build


def test_job_sends_one_reminder_per_account_and_a_rerun_sends_none(in_arrears, cashier, clock):
    (a, _), (b, _) = in_arrears(), in_arrears("80.00")
    me = cashier()
    dry = dunning.do_run_dunning(me, dry_run=True)
    assert dry.reminders == 2 and not DunningCase.objects.exists()
    run = dunning.do_run_dunning(me)
    assert run.reminders == 2
    steps = DunningStep.objects.filter(kind="reminder")
    assert {s.case.account_id for s in steps} == {a.pk, b.pk}
    first = steps.get(case__account=a)
    assert first.arrears == Decimal("300.00")  # overdue open amount (late fees count once posted)
    assert first.overdue_days > 30 and first.outcome.startswith("已受理")
    assert dunning.do_run_dunning(me).reminders == 0  # nothing twice
    assert DunningCase.objects.filter(status="open").count() == 2


def test_reminders_wait_for_the_contact_hours(in_arrears, cashier, clock):
    in_arrears()
    clock.advance(hours=12)  # 22:00 local
    assert dunning.do_run_dunning(cashier()).reminders == 0


def test_the_whole_ladder_to_disconnection_and_reconnection(in_arrears, cashier, staff, clock, service_desk):
    from gridcare.service.models import WorkOrder

    acc, _bill = in_arrears()  # residential: notice period 7 days
    me = cashier()
    dunning.do_run_dunning(me)
    case = DunningCase.objects.get(account=acc)
    with pytest.raises(Conflict):  # three days between the reminder and the approval/notice
        dunning.do_request_disconnection(me, case.pk, reason="屡催不缴")
    clock.advance(days=3)
    with pytest.raises(InvalidInput):
        dunning.do_request_disconnection(me, case.pk, reason=" ")
    dunning.do_request_disconnection(me, case.pk, reason="屡催不缴")
    with pytest.raises(PermissionRefused):
        dunning.do_decide_disconnection(me, case.pk, approve=True)  # no disconnection.approve
    with pytest.raises(Conflict):
        dunning.do_issue_notice(me, case.pk)  # not approved yet
    dunning.do_decide_disconnection(staff("manager"), case.pk, approve=True, note="同意")
    notice = dunning.do_issue_notice(me, case.pk)
    pdf = dunning.notice_pdf(DunningCase.objects.get(pk=case.pk))
    assert pdf.startswith(b"%PDF")
    with pytest.raises(InvalidInput):
        dunning.do_record_delivery(me, case.pk, how="pigeon", recipient="户主")
    with pytest.raises(InvalidInput):
        dunning.do_record_delivery(
            me, case.pk, how="in_person", recipient="户主", at=notice.at - dt.timedelta(hours=1)
        )
    dunning.do_record_delivery(me, case.pk, how="in_person", recipient="户主 张三")
    with pytest.raises(Conflict):  # the notice period (7 days) has not passed
        dunning.do_disconnect(me, case.pk)
    clock.advance(days=7)  # 2026-12-12 is a Saturday: no disconnection on a day off
    with pytest.raises(Conflict):
        dunning.do_disconnect(me, case.pk)
    clock.advance(days=2)  # Monday 10:00
    cut = dunning.do_disconnect(me, case.pk)
    assert cut.work_order is not None and cut.work_order.sub_type == "disconnection"
    assert DunningStep.objects.filter(case=case, kind="pre_reminder").exists()
    case.refresh_from_db()
    assert case.last_step == 4
    assert dunning.do_run_dunning(me).reminders == 0  # disconnected, not paid: nothing to do
    # payment in full: the reconnection order is created inside the payment action, due within 24 h
    owed = dunning.standing([acc.pk]).arrears[0]
    do_take_payment(me, account=acc, amount=str(owed + Decimal("100")), method="cash")
    case.refresh_from_db()
    assert case.status == "closed" and case.last_step == 5
    order = DunningStep.objects.get(case=case, kind="reconnected").work_order
    assert order is not None and order.sub_type == "reconnection"
    assert WorkOrder.objects.filter(sub_type="reconnection").count() == 1
    answer = order.clocks.get(milestone="answer")  # the service desk's 复电 clock: 24 h from the payment
    assert answer.deadline == clock.now + dt.timedelta(hours=24)
    # the power back on five hours later: the collector's 复电时长 KPI for the month is 5.0 h
    from gridcare.ledger.workbench import reconnection_time
    from gridcare.org.models import OrgUnit
    from gridcare.service.actions import do_reply, do_start, do_take
    from gridcare.web.workbench import Month

    manager, company = staff("manager"), OrgUnit.objects.get(code="GC")
    month = Month.of(timezone.localdate(clock.now + dt.timedelta(hours=5)))
    assert reconnection_time(manager, company, month) is None  # ordered, not done yet
    station = staff("cg_rep")  # the station's staff take the order and put the power back on
    do_take(station, order, at=clock.now + dt.timedelta(hours=1))
    do_start(station, order, at=clock.now + dt.timedelta(hours=1))
    do_reply(station, order, result="已恢复送电", at=clock.now + dt.timedelta(hours=5))
    assert reconnection_time(manager, company, month) == Decimal("5.0")


def test_a_refused_approval_closes_the_case_and_nobody_approves_their_own(in_arrears, cashier, staff, clock):
    acc, _ = in_arrears()
    me = cashier()
    dunning.do_run_dunning(me)
    clock.advance(days=3)
    case = DunningCase.objects.get(account=acc)
    dunning.do_request_disconnection(me, case.pk, reason="屡催不缴")
    with pytest.raises(Conflict):
        dunning.do_request_disconnection(me, case.pk, reason="again")
    dunning.do_decide_disconnection(staff("manager"), case.pk, approve=False, note="先走访")
    case.refresh_from_db()
    assert case.status == "closed"


def test_important_customer_notifies_the_authority(in_arrears, cashier, staff, clock):
    from gridcare.customers.models import ServicePoint

    acc, _ = in_arrears(customer_class="commercial")
    ServicePoint.objects.filter(account=acc).update(is_important=True)
    me = cashier()
    dunning.do_run_dunning(me)
    clock.advance(days=3)
    case = DunningCase.objects.get(account=acc)
    dunning.do_request_disconnection(me, case.pk, reason="屡催不缴")
    dunning.do_decide_disconnection(staff("manager"), case.pk, approve=True)
    dunning.do_issue_notice(me, case.pk)
    authority = DunningStep.objects.get(case=case, kind="authority")
    assert authority.recipient


def test_paying_before_disconnection_settles_the_case(in_arrears, cashier, clock):
    acc, _ = in_arrears()
    me = cashier()
    dunning.do_run_dunning(me)
    owed = dunning.standing([acc.pk]).arrears[0]
    do_take_payment(
        me, account=acc, amount=str(owed + Decimal("100")), method="cash"
    )  # the late fee is posted with it
    run = dunning.do_run_dunning(me)
    assert run.settled == 1
    assert DunningCase.objects.get(account=acc).status == "closed"


def fake_grades(account_ids):
    return {a: "D" for a in account_ids}


@override_settings(
    GRIDCARE_LEDGER={
        "CREDIT_GRADE_SOURCE": "tests.ledger.test_dunning.fake_grades",
        "NOTICE_DAYS_BY_GRADE": {"D": -4},
    }
)
def test_credit_grade_hook_shortens_the_notice_period(in_arrears, clock):
    acc, _ = in_arrears()
    assert dunning.credit_grades([acc.pk]) == {acc.pk: "D"}
    rules = dunning.ladder()
    assert rules.classes["residential|D"].notice_days == 3  # 7 − 4
    assert rules.classes["residential"].notice_days == 7


def test_cli_dunning_dry_run(in_arrears, capsys, clock):
    in_arrears()
    call_command("ledger", "dunning", "--dry-run")
    assert "dry run: would send 1 reminders" in capsys.readouterr().out
    assert not DunningCase.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_the_dunning_job_remind_once(in_arrears, cashier, clock):
    for _ in range(3):
        in_arrears()
    me = cashier()
    results = run_together([lambda: dunning.do_run_dunning(me), lambda: dunning.do_run_dunning(me)])
    assert all(isinstance(r, (dunning.DunningRun, JobBusy)) for r in results), results
    assert sum(r.reminders for r in results if isinstance(r, dunning.DunningRun)) == 3
    assert DunningStep.objects.filter(kind="reminder").count() == 3
    assert DunningCase.objects.count() == 3


def _token_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_dunning_through_the_api(in_arrears, cashier, api, clock, account):
    acc, _ = in_arrears()
    me = cashier()
    client = _token_client(me)
    bad = client.post(
        "/api/ledger/dunning/remind/", {"accounts": [999999]}, format="json", HTTP_IDEMPOTENCY_KEY="r0"
    )
    assert bad.status_code == 400 and "accounts" in bad.json()["errors"]
    sent = client.post(
        "/api/ledger/dunning/remind/", {"accounts": [acc.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert sent.status_code == 200 and sent.json() == {"sent": 1}, sent.content
    again = client.post(
        "/api/ledger/dunning/remind/", {"accounts": [acc.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert (
        again.json() == {"sent": 1} and DunningStep.objects.count() == 1
    )  # the retry answers the first answer
    case = DunningCase.objects.get()
    listed = client.get("/api/ledger/dunning/").json()
    assert listed["results"][0]["steps"][0]["kind"] == "reminder"
    early = client.post(
        f"/api/ledger/dunning/{case.pk}/request/",
        {"reason": "屡催不缴"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="q1",
    )
    assert early.status_code == 409  # three days after the reminder
    clock.advance(days=3)
    asked = client.post(
        f"/api/ledger/dunning/{case.pk}/request/",
        {"reason": "屡催不缴"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="q2",
    )
    assert asked.status_code == 200 and asked.json()["approval_pending"] is True
    decided = api("manager").post(f"/api/ledger/dunning/{case.pk}/decide/", {"approve": True}, format="json")
    assert decided.status_code == 200, decided.content
    other = cashier("hx_cashier", "HX")  # another station's collector: the case is outside the scope
    assert _token_client(other).get(f"/api/ledger/dunning/{case.pk}/").status_code == 404


def test_dunning_workbench_screen(client, in_arrears, cashier, staff, clock):
    acc, _ = in_arrears()
    me = cashier()
    client.force_login(me)
    page = client.get("/ledger/dunning/").content.decode()
    assert acc.number in page and "催费提醒" in page and "向所选户发送催费提醒" in page
    client.post("/ledger/dunning/remind/", {"account": [str(acc.pk)]})
    assert DunningStep.objects.filter(kind="reminder").count() == 1
    clock.advance(days=3)
    client.force_login(me)  # (the session expired with the clock)
    case = DunningCase.objects.get()
    asked = client.post(f"/ledger/dunning/{case.pk}/request/", {"reason": "屡催不缴"}, follow=True)
    assert "停电申请已提交审批" in asked.content.decode(), [str(m) for m in asked.context["messages"]]
    client.force_login(staff("manager"))
    queue = client.get("/ledger/dunning/").content.decode()
    assert "待审批的欠费停电" in queue and acc.number in queue
    client.post(f"/ledger/dunning/{case.pk}/approve/", {"note": "同意"})
    client.force_login(me)
    issued = client.post(f"/ledger/dunning/{case.pk}/notice/", follow=True)
    assert "停电通知书已出具" in issued.content.decode(), [str(m) for m in issued.context["messages"]]
    pdf = client.get(f"/ledger/dunning/{case.pk}/notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = client.get("/ledger/dunning/").content.decode()
    assert "登记送达" in page
    client.post(f"/ledger/dunning/{case.pk}/deliver/", {"how": "left", "recipient": "门卫 李四"})
    assert DunningStep.objects.get(kind="delivered").channel == "left"


def test_steps_are_never_changed(in_arrears, cashier, clock):
    from django.db import DatabaseError, transaction

    in_arrears()
    dunning.do_run_dunning(cashier())
    step = DunningStep.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        DunningStep.objects.filter(pk=step.pk).update(recipient="changed")
    with pytest.raises(Conflict):
        step.save()
    assert DunningStep.objects.get().recipient == step.recipient
