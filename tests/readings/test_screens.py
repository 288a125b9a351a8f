"""The readings list screens: declared permission, data scope, Chinese by default."""

from __future__ import annotations

import pytest
from django.test import Client

from gridcare.readings.actions import do_generate_plan
from tests.readings.conftest import at

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_reader_lists_only_their_own_tasks(installed, route_for, staff, system):
    mine, theirs = installed(), installed()
    route_for(mine)
    route_for(theirs, reader="reader")
    do_generate_plan(system, period="2026-11")
    page = client_for(staff("cg_reader")).get("/readings/tasks/?period=2026-11")
    assert page.status_code == 200
    text = page.content.decode()
    assert mine.asset_no in text and theirs.asset_no not in text
    assert "抄表任务" in text


def test_exception_queue_and_routes_screens(installed, route_for, capture, staff):
    meter = installed(initial={"active_total": "500"})
    route_for(meter)
    capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "400"}]
    )
    billing = client_for(staff("billing"))
    queue = billing.get("/readings/exceptions/?status=open")
    assert queue.status_code == 200 and "倒走" in queue.content.decode()
    assert billing.get("/readings/routes/").status_code == 200
    assert client_for(staff("cs_rep")).get("/readings/exceptions/").status_code == 403


def test_reader_route_screen_in_walking_order_with_feedback_per_entry(
    installed, route_for, capture, staff, system
):
    """Given cg_reader's route with two meters (the second read last month at 100 after 100 kWh), when the
    reader opens the route, then the tasks come in walking order with the previous reading and the expected
    range; when they enter a good and a bad value, the good one is saved and the bad one answered with its
    reason, and the progress counts the saved one."""
    from gridcare.readings.models import MeterRead, ReadingTask

    first, second = installed(), installed(initial={"active_total": "0"})
    capture(
        [{"meter": second.asset_no, "register": "active_total", "read_at": at("2026-10-15"), "value": "100"}]
    )
    route = route_for(first, second)
    do_generate_plan(system, period="2026-11")
    reader = client_for(staff("cg_reader"))
    url = f"/readings/routes/{route.pk}/read/?period=2026-11"
    text = reader.get(url).content.decode()
    assert text.index(first.asset_no) < text.index(second.asset_no)
    assert "170–230" in text and "0 / 2" in text
    one = ReadingTask.objects.get(meter=first)
    two = ReadingTask.objects.get(meter=second)
    page = reader.post(url, {"period": "2026-11", f"value-{one.pk}": "abc", f"value-{two.pk}": "205.5"})
    assert page.status_code == 400
    body = page.content.decode()
    assert "not a number" in body and "1 / 2" in body
    assert MeterRead.objects.get(meter=second, period="2026-11").value == 205.5
    assert client_for(staff("reader")).get(url).status_code == 404
    assert client_for(staff("cs_rep")).get(url).status_code == 403


def test_exception_decided_on_screen_and_estimate_approved_by_another(installed, capture, staff, system):
    """Given a reverse-running read with three months of history, when the manager estimates it on the screen,
    then the queue links it to the approval; the manager's own approval is refused, the system's goes through."""
    from gridcare.readings.models import MeterRead, ReadException

    meter = installed(initial={"active_total": "0"})
    for day, value in (
        ("2026-08-15", "100"),
        ("2026-09-15", "200"),
        ("2026-10-15", "300"),
        ("2026-11-15", "250"),
    ):
        capture([{"meter": meter.asset_no, "register": "active_total", "read_at": at(day), "value": value}])
    exception = ReadException.objects.get(rule="reverse_running")
    manager = client_for(staff("manager"))
    assert manager.get(f"/readings/exceptions/{exception.pk}/decide/").status_code == 200
    missing_reason = manager.post(f"/readings/exceptions/{exception.pk}/decide/", {"decision": "accept"})
    assert missing_reason.status_code == 400
    done = manager.post(
        f"/readings/exceptions/{exception.pk}/decide/",
        {"decision": "estimate", "method": "average_last_three", "reason": "倒走，估抄"},
    )
    assert done.status_code == 302
    exception.refresh_from_db()
    assert exception.status == "estimated" and exception.get_absolute_url().endswith("/approve/")
    refused = manager.post(f"/readings/exceptions/{exception.pk}/approve/", {"reason": ""})
    assert refused.status_code == 403 and "another person" in refused.content.decode()
    assert (
        client_for(staff("cg_reader")).get(f"/readings/exceptions/{exception.pk}/approve/").status_code == 403
    )
    approved = client_for(system).post(f"/readings/exceptions/{exception.pk}/approve/", {"reason": "同意"})
    assert approved.status_code == 302
    assert MeterRead.objects.get(source="estimate").status == MeterRead.Status.VALID


def test_rules_and_exceptions_read_in_words(installed, capture, staff, system):
    """The validation rules screen names each rule with its parameters and units; the queue names the rule and
    gives the message in Chinese with its unit; the decision form shows the read, the one before and the
    consumption, and what accepting a reverse-running read does."""
    from gridcare.readings.actions import do_load_vee_defaults
    from gridcare.readings.models import ReadException

    do_load_vee_defaults(system)
    billing = client_for(staff("billing"))
    rules = billing.get("/readings/rules/").content.decode()
    assert "超出抄表窗口" in rules and "例日前后天数 2 天" in rules and "变化超过 30 %" in rules
    assert "outside_window" not in rules
    meter = installed(initial={"active_total": "500"})
    capture(
        [{"meter": meter.asset_no, "register": "active_total", "read_at": at("2026-11-15"), "value": "400"}]
    )
    queue = billing.get("/readings/exceptions/?rule=reverse_running").content.decode()
    assert "倒走：本次示数低于上次，电量 -100 kWh" in queue and "reverse running" not in queue
    exception = ReadException.objects.get(rule="reverse_running")
    form = billing.get(f"/readings/exceptions/{exception.pk}/decide/").content.decode()
    assert "400.00 kWh" in form and "暂无" in form  # the only earlier value is the installation's
    assert "-100 kWh" in form and "零电量作为新起度" in form and "处理方式" in form
