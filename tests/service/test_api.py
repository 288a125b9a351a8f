"""Intake through the API: bad input → 400 with field errors and nothing written; idempotent create; numbers."""

from __future__ import annotations

import re

import pytest
from django.db import models

from gridcare.core.models import AuditEntry
from gridcare.service.models import SLAClock, WorkOrder, WorkOrderTransition


def counts() -> tuple[int, int, int, int]:
    return (
        WorkOrder.objects.count(),
        WorkOrderTransition.objects.count(),
        SLAClock.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"order_type": "galaxy"}, "order_type"),
        ({"order_type": "complaint", "sub_type": "", "customer": "__customer__"}, "sub_type"),
        ({"order_type": "complaint", "sub_type": "reconnection", "customer": "__customer__"}, "sub_type"),
        ({"order_type": "enquiry", "sub_type": "service"}, "sub_type"),
        ({"order_type": "complaint", "sub_type": "service"}, "customer"),
        ({"order_type": "repair"}, "address"),
        ({"order_type": "repair", "service_point": 999999}, "service_point"),
        ({"order_type": "enquiry", "account": 999999}, "account"),
        ({"order_type": "enquiry", "contact_phone": "call me"}, "contact_phone"),
        ({"order_type": "enquiry", "channel": "pigeon"}, "channel"),
        ({"order_type": "enquiry", "area_class": "moon"}, "area_class"),
        ({"order_type": "enquiry", "title": "x" * 121}, "title"),
        ({"order_type": "repair", "service_point": "__point__", "account": "__other_account__"}, "account"),
    ],
)
def test_bad_intake_is_400_with_field_errors_and_writes_nothing(api, place, payload, field) -> None:
    point, other = place("CG"), place("HX")
    swaps = {
        "__customer__": point.account.customer_id,
        "__point__": point.pk,
        "__other_account__": other.account_id,
    }
    payload = {k: swaps.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = counts()
    response = api("cg_rep").post("/api/service/orders/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.data["errors"], response.data
    assert counts() == before


def test_idempotent_create_returns_the_first_answer(api, place) -> None:
    client = api("cg_rep")
    payload = {"order_type": "repair", "service_point": place("CG").pk, "title": "停电"}
    first = client.post(
        "/api/service/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="call-20261122-001"
    )
    again = client.post(
        "/api/service/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="call-20261122-001"
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.data["number"] == first.data["number"]
    assert WorkOrder.objects.filter(title="停电").count() == 1
    third = client.post(
        "/api/service/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="call-20261122-002"
    )
    assert third.data["number"] != first.data["number"]


def test_intake_through_the_api_is_one_transaction_without_savepoints(api, place) -> None:
    """The action and the idempotency record share one transaction, and the action skips its own savepoint."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridcare.core.models import AuditEntry, IdempotencyRecord

    client = api("cg_rep")
    payload = {"order_type": "repair", "service_point": place("CG").pk, "title": "一个事务"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/service/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="tx-1")
    assert response.status_code == 201
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("SAVEPOINT")]
    # the test runs inside its own transaction, which turns the request's transaction into one savepoint;
    # the action inside it adds none (it used to add a second)
    assert len(savepoints) == 1, savepoints
    audit_rows = AuditEntry.objects.filter(object_type="service.workorder").count()
    assert IdempotencyRecord.objects.filter(key="tx-1").count() == 1 and audit_rows >= 1


def test_numbers_are_unique_per_day_sequences(staff) -> None:
    from gridcare.service import actions
    from tests.service.conftest import sh

    numbers = [
        actions.do_create_order(staff("cs_rep"), order_type="enquiry", at=sh(2026, 11, 22, 9, i)).number
        for i in range(5)
    ]
    assert len(set(numbers)) == 5
    assert all(re.fullmatch(r"GD20261122\d{4,}", n) for n in numbers)
    assert numbers == sorted(numbers)
    tomorrow = actions.do_create_order(staff("cs_rep"), order_type="enquiry", at=sh(2026, 11, 23, 9)).number
    assert tomorrow == "GD202611230001" or tomorrow.startswith("GD20261123")


def test_permission_refused_is_403(api, place) -> None:
    response = api("billing").post("/api/service/orders/", {"order_type": "enquiry"}, format="json")
    assert response.status_code == 403


def test_bad_step_input_is_400(api, staff, place) -> None:
    from gridcare.service import actions

    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    head = api("cg_head")
    head.post(f"/api/service/orders/{order.pk}/take/")
    response = head.post(f"/api/service/orders/{order.pk}/suspend/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.data["errors"]
    order.refresh_from_db()
    assert order.status == "taken"
    future = head.post(
        f"/api/service/orders/{order.pk}/arrive/", {"at": "2099-01-01T00:00:00+08:00"}, format="json"
    )
    assert future.status_code == 400 and "at" in future.data["errors"]


def test_policies_api_edit_needs_sla_manage(api) -> None:
    from gridcare.service.models import SLAPolicy

    policy = SLAPolicy.objects.filter(order_type="complaint", milestone="answer").first()
    refused = api("cs_rep").patch(f"/api/service/policies/{policy.pk}/", {"amount": 3}, format="json")
    assert refused.status_code == 403
    ok = api("cs_supervisor").patch(f"/api/service/policies/{policy.pk}/", {"amount": 3}, format="json")
    assert ok.status_code == 200 and ok.data["amount"] == 3
    bad = api("cs_supervisor").patch(
        f"/api/service/policies/{policy.pk}/", {"warn_ratio": "1.50"}, format="json"
    )
    assert bad.status_code == 400


def test_day_counter_beyond_four_digits_keeps_numbers_unique(
    staff, django_capture_on_commit_callbacks
) -> None:
    """The 10,000th order of a day is ``…10000``, not a second ``…1000`` (on both paths)."""
    from gridcare.service import actions, numbering

    actor = staff("cs_rep")
    with django_capture_on_commit_callbacks(execute=True):
        first = actions.do_create_order(actor, order_type="enquiry")
    day = numbering.local_day()
    counter = int(first.number[-4:])
    # pretend 9,999 more orders were taken today: move this day's base back
    base = numbering.cached_base(day) if numbering.cached_base(day) is not None else None
    from gridcare.service.models import NumberDay

    NumberDay.objects.filter(day=day).update(base=models.F("base") - 9999)
    if base is not None:
        numbering._remember(day, base - 9999)
    numbers = [actions.do_create_order(actor, order_type="enquiry").number for _ in range(2)]
    assert [int(n[10:]) for n in numbers] == [counter + 10000, counter + 10001]
    assert all(len(n) == 15 for n in numbers) and len(set(numbers)) == 2


def test_intake_single_statement_path_stores_what_the_orm_stores(
    staff, place, django_capture_on_commit_callbacks
) -> None:
    """Once today's number base is committed, PostgreSQL inserts order, clocks and transitions in one statement;
    the stored rows are the same as through the ORM (SQLite always takes the ORM path)."""
    from gridcare.service import actions
    from gridcare.service.numbering import cached_base, local_day

    point = place("CG")
    with django_capture_on_commit_callbacks(execute=True):
        first = actions.do_create_order(
            staff("cg_rep"), order_type="complaint", sub_type="service", service_point=point.pk
        )
    assert cached_base(local_day()) is not None
    second = actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=point.pk,
        area_text="10kV 测试线",
        contact_phone="13900001111",
    )
    assert second.pk and re.fullmatch(r"GD\d{8}\d{4,}", second.number) and second.number > first.number
    stored = WorkOrder.objects.get(pk=second.pk)
    for field in (
        "number",
        "order_type",
        "status",
        "queue_unit_id",
        "unit_id",
        "area_text",
        "contact_phone",
        "due_at",
        "created_at",
    ):
        assert getattr(stored, field) == getattr(second, field), field
    assert list(stored.transitions.values_list("action", flat=True)) == ["create", "dispatch"]
    (arrival,) = stored.clocks.all()
    assert (arrival.milestone, arrival.amount, arrival.deadline) == ("arrival", 45, second.due_at)
