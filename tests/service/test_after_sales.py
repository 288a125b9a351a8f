"""After-sales: repair record (维修记录单), parts and tools against stock (never negative, returns ≤ issued),
paid-service fees in 元 with 2 decimals (never float)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.core.errors import InvalidInput
from gridcare.org.models import OrgUnit
from gridcare.service import actions
from gridcare.service.models import RepairRecord, ServiceFee, StockItem, StockMovement


@pytest.fixture
def field_order(staff, place):
    order = actions.do_create_order(staff("cs_rep"), order_type="repair", address="城郊", area_text="E线")
    actions.do_reassign(staff("cs_supervisor"), order, assignee=staff("repair").pk, reason="派维修员")
    actions.do_take(staff("repair"), order)
    actions.do_arrive(staff("repair"), order)
    return order


@pytest.fixture
def fuse() -> StockItem:
    return StockItem.objects.create(
        code="RD-10A",
        name="熔断器 10A",
        kind="part",
        unit_price=Decimal("12.50"),
        quantity=3,
        org_unit=OrgUnit.objects.get(code="WX"),
    )


def test_issue_and_return_parts(staff, field_order, fuse) -> None:
    tech = staff("repair")
    actions.do_issue_stock(tech, field_order, item=fuse.pk, quantity=2)
    fuse.refresh_from_db()
    assert fuse.quantity == 1
    with pytest.raises(InvalidInput) as short:
        actions.do_issue_stock(tech, field_order, item=fuse.pk, quantity=2)
    assert "quantity" in short.value.errors
    with pytest.raises(InvalidInput) as too_many:
        actions.do_return_stock(tech, field_order, item=fuse.pk, quantity=3)
    assert "quantity" in too_many.value.errors
    actions.do_return_stock(tech, field_order, item=fuse.pk, quantity=1)
    fuse.refresh_from_db()
    assert fuse.quantity == 2
    assert list(StockMovement.objects.filter(order=field_order).values_list("kind", "quantity")) == [
        ("issue", 2),
        ("return", 1),
    ]
    for bad in (0, -1, "x", True):
        with pytest.raises(InvalidInput):
            actions.do_issue_stock(tech, field_order, item=fuse.pk, quantity=bad)


def test_repair_record_and_fees(api, staff, field_order) -> None:
    tech = staff("repair")
    actions.do_record_repair(
        tech,
        field_order,
        cause="customer_side",
        fault="户内漏电保护器损坏",
        work_done="更换漏保",
        is_paid_service=True,
    )
    assert RepairRecord.objects.get(order=field_order).is_paid_service
    response = api("repair").post(
        f"/api/service/orders/{field_order.pk}/fees/",
        {"description": "更换漏电保护器（含材料）", "amount": "85.50"},
        format="json",
    )
    assert response.status_code == 201, response.content
    fee = ServiceFee.objects.get(order=field_order)
    assert fee.amount == Decimal("85.50") and isinstance(fee.amount, Decimal)
    for bad in ("0", "-3", "1.234", "abc", 1.5):
        with pytest.raises(InvalidInput):
            actions.do_record_fee(tech, field_order, description="x", amount=bad)
    bad = api("repair").post(
        f"/api/service/orders/{field_order.pk}/fees/", {"description": "x", "amount": "1.234"}, format="json"
    )
    assert bad.status_code == 400 and "amount" in bad.data["errors"]
    assert ServiceFee.objects.filter(order=field_order).count() == 1


def test_the_repair_record_form_starts_with_no_cause_and_requires_one(staff, field_order) -> None:
    """The cause select opens on 请选择 (nothing preselected); posting it empty records nothing."""
    from django.test import Client

    client = Client()
    client.force_login(staff("repair"))
    page = client.get(field_order.get_absolute_url()).content.decode()
    repair_form = page.split('data-step="repair"', 1)[1].split("</form>", 1)[0]
    cause = repair_form.split('name="cause"', 1)[1].split("</select>", 1)[0]
    assert "required" in cause
    assert '<option value="" selected>请选择</option>' in cause
    assert cause.count("selected") == 1
    client.post(
        f"/service/orders/{field_order.pk}/repair/", {"cause": "", "fault": "漏电", "work_done": "更换漏保"}
    )
    assert not RepairRecord.objects.filter(order=field_order).exists()


def test_field_work_on_a_closed_order_is_refused(staff, field_order, fuse) -> None:
    from gridcare.core.errors import InvalidTransition

    tech = staff("repair")
    actions.do_restore(tech, field_order)
    actions.do_reply(tech, field_order, result="好了", cause="line_fault")
    with pytest.raises(InvalidTransition):
        actions.do_issue_stock(tech, field_order, item=fuse.pk, quantity=1)
