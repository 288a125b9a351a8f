# ruff: noqa: F811  (the service desk fixtures are imported, then requested by name)
"""Idempotency-Key on every write of the API (issue #9, defect 8).

Given a write sent with an ``Idempotency-Key``, when it is sent again with the same key, then the first answer
comes back (``Idempotent-Replayed: true``) and nothing is written again — for lifecycle steps, fees, stock,
compensations, PATCH and DELETE, not only ``create``. The same key with another body is a 409; a replay runs no
action (no document number used); two requests with one key at the same time write once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from gridcare.api.base import IdempotentWritesMixin
from gridcare.core.models import AuditEntry, CalendarOverride, IdempotencyRecord
from gridcare.org.models import OrgUnit
from gridcare.service import actions
from gridcare.service.models import (
    Compensation,
    ServiceFee,
    StockItem,
    StockMovement,
    WorkOrder,
    WorkOrderTransition,
)
from tests.concurrency import run_together
from tests.service.conftest import place, service_defaults  # noqa: F401

UNSAFE = {"post", "put", "patch", "delete"}


@pytest.fixture
def field_order(staff, place):  # type: ignore[no-untyped-def]
    order = actions.do_create_order(staff("cs_rep"), order_type="repair", address="城郊", area_text="E线")
    actions.do_reassign(staff("cs_supervisor"), order, assignee=staff("repair").pk, reason="派维修员")
    actions.do_take(staff("repair"), order)
    actions.do_arrive(staff("repair"), order)
    return order


def audit_rows() -> int:
    return AuditEntry.objects.count()


def test_fee_posted_twice_with_one_key_is_stored_once(api, field_order) -> None:
    client = api("repair")
    url = f"/api/service/orders/{field_order.pk}/fees/"
    body = {"description": "更换漏电保护器", "amount": "85.50"}
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="fee-1")
    rows = audit_rows()
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="fee-1")
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true" and again.data == first.data
    assert ServiceFee.objects.filter(order=field_order).count() == 1
    assert audit_rows() == rows
    # the same key with another amount is another request: refused, nothing written
    other = client.post(url, {**body, "amount": "90.00"}, format="json", HTTP_IDEMPOTENCY_KEY="fee-1")
    assert other.status_code == 409, other.content
    assert ServiceFee.objects.filter(order=field_order).count() == 1 and audit_rows() == rows
    # the same body in another key order is the same request
    same = client.post(
        url, {"amount": "85.50", "description": "更换漏电保护器"}, format="json", HTTP_IDEMPOTENCY_KEY="fee-1"
    )
    assert same.status_code == 201 and same["Idempotent-Replayed"] == "true"


def test_stock_issue_twice_with_one_key_takes_stock_once(api, field_order) -> None:
    fuse = StockItem.objects.create(
        code="RD-10A",
        name="熔断器 10A",
        kind="part",
        unit_price=Decimal("12.50"),
        quantity=3,
        org_unit=OrgUnit.objects.get(code="WX"),
    )
    client = api("repair")
    url = f"/api/service/orders/{field_order.pk}/issue-stock/"
    for _ in range(2):
        response = client.post(
            url, {"item": fuse.pk, "quantity": 2}, format="json", HTTP_IDEMPOTENCY_KEY="s-1"
        )
        assert response.status_code in (200, 201), response.content
    fuse.refresh_from_db()
    assert fuse.quantity == 1
    assert StockMovement.objects.filter(order=field_order).count() == 1


def test_compensation_proposed_twice_with_one_key_is_one_compensation(api, place) -> None:
    order = api("cg_rep").post(
        "/api/service/orders/",
        {
            "order_type": "complaint",
            "sub_type": "outage",
            "service_point": place("CG").pk,
            "title": "停电太久",
        },
        format="json",
    )
    url = f"/api/service/orders/{order.data['id']}/compensations/"
    body = {"amount": "500.00", "reason": "抢修超时 2 小时"}
    first = api("cg_rep").post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="comp-1")
    again = api("cg_rep").post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="comp-1")
    assert first.status_code == again.status_code == 201
    assert again.data["id"] == first.data["id"]
    assert Compensation.objects.filter(order_id=order.data["id"]).count() == 1
    decide = f"/api/service/compensations/{first.data['id']}/approve/"
    approved = api("cg_head").post(decide, {"note": "同意"}, format="json", HTTP_IDEMPOTENCY_KEY="dec-1")
    replay = api("cg_head").post(decide, {"note": "同意"}, format="json", HTTP_IDEMPOTENCY_KEY="dec-1")
    assert approved.status_code == replay.status_code == 200, approved.content
    assert replay["Idempotent-Replayed"] == "true"
    approvals = AuditEntry.objects.filter(
        action="service.approve_compensation", object_id=str(first.data["id"])
    )
    assert approvals.count() == 1


def test_lifecycle_step_retried_with_one_key_is_one_transition(api, staff) -> None:
    order = actions.do_create_order(staff("cs_rep"), order_type="repair", address="城郊", area_text="E线")
    actions.do_reassign(staff("cs_supervisor"), order, assignee=staff("repair").pk, reason="派维修员")
    client = api("repair")
    before = WorkOrderTransition.objects.filter(order=order).count()
    first = client.post(
        f"/api/service/orders/{order.pk}/take/", {}, format="json", HTTP_IDEMPOTENCY_KEY="t-1"
    )
    again = client.post(
        f"/api/service/orders/{order.pk}/take/", {}, format="json", HTTP_IDEMPOTENCY_KEY="t-1"
    )
    assert first.status_code == again.status_code == 200, first.content
    assert again.data == first.data and again["Idempotent-Replayed"] == "true"
    assert WorkOrderTransition.objects.filter(order=order).count() == before + 1
    # the key answered a "take": it cannot be used for an "arrive"
    arrive = client.post(
        f"/api/service/orders/{order.pk}/arrive/", {}, format="json", HTTP_IDEMPOTENCY_KEY="t-1"
    )
    assert arrive.status_code == 409
    assert WorkOrderTransition.objects.filter(order=order).count() == before + 1


def test_patch_and_delete_honour_the_key(api) -> None:
    client = api("admin")
    unit = OrgUnit.objects.get(code="CG")
    url = f"/api/org/units/{unit.pk}/"
    first = client.patch(url, {"name": "城关供电所（新）"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    rows = audit_rows()
    again = client.patch(url, {"name": "城关供电所（新）"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == again.status_code == 200, first.content
    assert again["Idempotent-Replayed"] == "true" and audit_rows() == rows
    other = client.patch(url, {"name": "别的名字"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert other.status_code == 409
    unit.refresh_from_db()
    assert unit.name == "城关供电所（新）" and audit_rows() == rows

    created = client.post(
        "/api/calendar/overrides/",
        {"day": "2026-12-01", "is_working_day": False, "reason": "检修日"},
        format="json",
    )
    gone = f"/api/calendar/overrides/{created.data['id']}/"
    deleted = client.delete(gone, HTTP_IDEMPOTENCY_KEY="d-1")
    rows = audit_rows()
    retried = client.delete(gone, HTTP_IDEMPOTENCY_KEY="d-1")
    assert deleted.status_code == retried.status_code == 204
    assert retried["Idempotent-Replayed"] == "true"
    assert not CalendarOverride.objects.filter(day=dt.date(2026, 12, 1)).exists() and audit_rows() == rows
    # without the key, the second delete is what it always was: not found
    assert client.delete(gone).status_code == 404


def test_replay_runs_no_action_and_uses_no_number(api, place) -> None:
    client = api("cg_rep")
    body = {"order_type": "repair", "service_point": place("CG").pk, "title": "停电"}
    first = client.post("/api/service/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="n-1")
    with CaptureQueriesContext(connection) as queries:
        again = client.post("/api/service/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="n-1")
    assert again.status_code == 201 and again.data["number"] == first.data["number"]
    written = [q["sql"] for q in queries.captured_queries if "service_" in q["sql"] or "nextval" in q["sql"]]
    assert written == [], written  # the retry never reached the work-order tables or the number sequence
    third = client.post("/api/service/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="n-2")
    assert int(third.data["number"][-4:]) == int(first.data["number"][-4:]) + 1  # no number lost to the retry


def test_refused_write_keeps_no_record_and_can_be_retried_with_the_key(api, place) -> None:
    client = api("cg_rep")
    bad = client.post(
        "/api/service/orders/", {"order_type": "galaxy"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="r-1").exists()
    body = {"order_type": "repair", "service_point": place("CG").pk, "title": "改正后重试"}
    good = client.post("/api/service/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert good.status_code == 201 and WorkOrder.objects.filter(title="改正后重试").count() == 1
    record = IdempotencyRecord.objects.get(key="r-1")
    assert len(record.fingerprint) == 64 and record.status_code == 201


def test_overlong_key_is_400_and_writes_nothing(api, field_order) -> None:
    response = api("repair").post(
        f"/api/service/orders/{field_order.pk}/fees/",
        {"description": "x", "amount": "1.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 129,
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.data["errors"]
    assert not ServiceFee.objects.filter(order=field_order).exists()


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_write_once(api, place) -> None:
    body = {"order_type": "repair", "service_point": place("CG").pk, "title": "同时重试"}
    clients = [api("cg_rep"), api("cg_rep")]

    def send(client: Any) -> Any:
        return lambda: client.post("/api/service/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="c-1")

    first, second = run_together([send(c) for c in clients])
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    assert {first.status_code, second.status_code} == {201}
    assert first.data["number"] == second.data["number"]
    assert sorted(r.get("Idempotent-Replayed", "") for r in (first, second)) == ["", "true"]
    assert WorkOrder.objects.filter(title="同时重试").count() == 1


def _views(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _views(pattern, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern))
    return found


# unsafe API routes that are not writes of a signed-in user, each with the reason
NOT_KEYED = {"api-token": "sign-in: anonymous, answers the one token of the user"}


def test_every_unsafe_api_route_goes_through_the_idempotency_base() -> None:
    """Enumerated from the URL configuration: a new viewset (or API view) that takes writes without the
    mixin fails here."""
    checked, missing = 0, []
    for route, pattern in _views(get_resolver()):
        cls = getattr(pattern.callback, "cls", None)
        if cls is None or not issubclass(cls, APIView) or pattern.name in NOT_KEYED:
            continue
        actions_map = getattr(pattern.callback, "actions", None)
        methods = set(actions_map) if actions_map else {m for m in cls.http_method_names if hasattr(cls, m)}
        if not methods & UNSAFE:
            continue
        checked += 1
        if not issubclass(cls, IdempotentWritesMixin):
            missing.append(f"{route} {cls.__name__}")
    assert missing == []
    assert checked >= 20  # orders, their steps, units, positions, staff, customers … (not an empty walk)


def test_file_upload_retried_with_one_key_imports_once(api, client, staff) -> None:
    """Multipart bodies are fingerprinted by file content: the same file replays, another file is a 409."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gridcare.customers.models import Customer
    from tests.customers.test_import import customer_row, sheet, template_headers

    client.force_login(staff("cg_rep"))
    headers = template_headers(client, "customers")
    meterless = dict.fromkeys(
        [
            "电能表资产编号",
            "条码",
            "厂家",
            "型号",
            "准确度等级",
            "相数",
            "电流规格",
            "检定日期",
            "装表日期",
            "起度-有功总",
        ]
    )
    content = sheet(headers, [customer_row(21, **meterless)])
    uploader = api("cg_rep")

    def upload(data: bytes) -> Any:
        return uploader.post(
            "/api/customers/import/?kind=customers",
            {"file": SimpleUploadedFile("customers.xlsx", data)},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="imp-1",
        )

    first, again = upload(content), upload(content)
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="导入客户21").count() == 1
    other = upload(sheet(headers, [customer_row(22, **meterless)]))
    assert other.status_code == 409 and not Customer.objects.filter(name="导入客户22").exists()
