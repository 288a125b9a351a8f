"""客户开发计划: stages with their rules, a won prospect becoming a customer without re-typing, and the expiry of
idle registrations — once, however often the job runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from gridcare.core.errors import Conflict, InvalidInput, InvalidTransition, PermissionRefused
from gridcare.core.locks import JobBusy, job_lock, lock_key
from gridcare.core.models import AuditEntry
from gridcare.customers.models import Customer
from gridcare.keyaccounts.actions import do_convert_prospect, do_expire_registrations, do_update_prospect
from gridcare.keyaccounts.actions.prospects import JOB
from gridcare.keyaccounts.models import Prospect
from gridcare.keyaccounts.selectors import pipeline
from gridcare.keyaccounts.workbench import won_to_convert

pytestmark = pytest.mark.django_db
CODE = "91330100MA2B3C4D5N"


@pytest.fixture
def prospect(register):
    return register("sales", credit_code=CODE, address="城关镇工业路 8 号").prospect


def test_stages_move_by_the_rules(prospect, staff) -> None:
    sales = staff("sales")
    moved = do_update_prospect(
        sales, prospect, stage="contacted", next_action="送方案", next_action_on=dt.date(2027, 1, 5)
    )
    assert moved.stage == "contacted"
    with pytest.raises(InvalidTransition):
        do_update_prospect(sales, prospect, stage="won")
    with pytest.raises(InvalidInput) as no_reason:
        do_update_prospect(sales, prospect, stage="lost")
    assert "lost_reason" in no_reason.value.errors
    lost = do_update_prospect(sales, prospect, stage="lost", lost_reason="选择自备电厂")
    assert lost.stage == "lost" and lost.lost_reason == "选择自备电厂"


def test_a_won_prospect_becomes_a_customer_without_retyping(prospect, staff) -> None:
    sales = staff("sales")
    for stage in ("proposal", "won"):
        do_update_prospect(sales, prospect, stage=stage)
    with pytest.raises(PermissionRefused):  # the salesperson does not open customer records
        do_convert_prospect(sales, prospect)
    assert "keyaccounts.won_to_convert" not in [t.code for t in won_to_convert(sales)]
    waiting = won_to_convert(staff("manager"))  # the step waits on the manager's workbench
    assert [(t.count, t.items[0][0]) for t in waiting] == [(1, prospect.name)]
    converted = do_convert_prospect(staff("manager"), prospect)
    assert won_to_convert(staff("manager")) == []
    customer = Customer.objects.get(pk=converted.customer_id)
    assert (customer.name, customer.id_number, customer.org_unit_id, customer.address) == (
        prospect.name,
        CODE,
        prospect.region_id,
        prospect.address,
    )
    assert customer.contacts.get().mobile == "13800001111"
    assert converted.status == "converted"
    with pytest.raises(Conflict):
        do_convert_prospect(staff("manager"), prospect)
    assert pipeline(staff("manager"))["conversion"] == 100.0


def test_expiry_frees_idle_registrations_once(prospect, register, staff) -> None:
    fresh = register("sales", name="河西食品加工有限公司").prospect
    Prospect.objects.filter(pk=prospect.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=91))
    actor = staff("admin")
    assert do_expire_registrations(actor) == 1
    assert do_expire_registrations(actor) == 0  # idempotent: nothing more to free
    assert Prospect.objects.get(pk=prospect.pk).status == "expired"
    assert Prospect.objects.get(pk=fresh.pk).status == "held"
    assert (
        AuditEntry.objects.filter(
            action="keyaccounts.expire_registration", object_id=str(prospect.pk)
        ).count()
        == 1
    )
    # the company is free again: another salesperson may register it
    assert not register("key_account", name=prospect.name, credit_code=CODE).refused


@contextmanager
def other_copy_running() -> Iterator[None]:
    """Another process holds the job's lock: on PostgreSQL another session's advisory lock (a session's own lock
    is re-entrant), on SQLite the lock file held through another file description."""
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


def test_a_second_copy_of_the_job_skips_while_the_first_runs(prospect, staff, capsys) -> None:
    Prospect.objects.filter(pk=prospect.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=91))
    with other_copy_running():
        with pytest.raises(JobBusy):
            do_expire_registrations(staff("admin"))
        call_command("keyaccounts", "expire")
        assert "跳过" in capsys.readouterr().out
    assert Prospect.objects.get(pk=prospect.pk).status == "held"
    call_command("keyaccounts", "expire")
    assert "1 户" in capsys.readouterr().out


def test_cli_classify_and_plan(rules, company, staff, capsys) -> None:
    company("城关水厂", manager=staff("key_account"), important=True)
    call_command("keyaccounts", "classify")
    call_command("keyaccounts", "plan", "--year", "2027")
    out = capsys.readouterr().out
    assert "符合规则 1 户" in out and "新增计划回访 12 次" in out


def test_screens_register_and_refuse_with_the_generic_message(prospect, staff) -> None:
    from django.test import Client

    from gridcare.org.models import OrgUnit

    client = Client()
    client.force_login(staff("key_account"))
    form = {
        "name": "华东新材料科技（集团）股份有限公司",
        "industry": "chemicals",
        "region": OrgUnit.objects.get(code="HX").pk,
        "expected_capacity_kva": "100",
        "expected_annual_kwh": "1000",
    }
    refused = client.post("/keyaccounts/prospects/new/", form)
    assert refused.status_code == 409
    body = refused.content.decode()
    assert "已被备案" in body and "杨帆" not in body and prospect.number not in body
    form["name"] = "河西食品加工有限公司"
    created = client.post("/keyaccounts/prospects/new/", form)
    assert created.status_code == 302
    assert client.get("/keyaccounts/prospects/pipeline/").status_code == 200
