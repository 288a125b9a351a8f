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
