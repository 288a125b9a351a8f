"""The intake screen (受理): live caller suggestions within the desk's scope, the caller panel, picked ids
re-resolved through the scope on submit, and linking a call to an open order by hand (并入此单)."""

from __future__ import annotations

import pytest
from django.test import Client

from gridcare.core.errors import InvalidInput
from gridcare.core.models import AuditEntry
from gridcare.customers.models import Contact
from gridcare.service import actions
from gridcare.service.models import WorkOrder


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def caller(place, station: str, mobile: str, name: str = "王五"):
    """A customer at ``station`` with one account, one service point and a primary contact ``mobile``."""
    point = place(station, name=name)
    Contact.objects.create(customer=point.account.customer, name=name, mobile=mobile, is_primary=True)
    return point


def suggest(client: Client, query: str):
    return client.get("/service/intake/suggest/", {"lookup": query})


def test_a_station_desk_never_sees_another_stations_caller(staff, place) -> None:
    """Given callers at 城关 and 河西, the 城关 desk's suggestions name only its own; the hotline sees both."""
    mine, other = caller(place, "CG", "13700000001"), caller(place, "HX", "13700000002")
    station = suggest(login(staff("cg_rep")), "137000000").content.decode()
    assert mine.account.number in station and other.account.number not in station
    hotline = suggest(login(staff("cs_rep")), "137000000").content.decode()
    assert mine.account.number in hotline and other.account.number in hotline
    by_number = suggest(login(staff("cg_rep")), other.account.number)
    assert other.account.number not in by_number.content.decode()


def test_suggestions_mask_the_phone_and_select_a_single_caller_by_phone(staff, place) -> None:
    point = caller(place, "HX", "13811112222")
    response = suggest(login(staff("cs_rep")), "13811112222")
    page = response.content.decode()
    assert response.status_code == 200
    assert "138****2222" in page and "13811112222" not in page
    assert page.count("data-only") == 1 and f'data-account="{point.account.pk}"' in page
    partial = suggest(login(staff("cs_rep")), "1381111").content.decode()
    assert point.account.number in partial and "data-only" not in partial


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 200),
        ("   ", 200),
        ("%", 200),
        ("'; drop table x", 200),
        ("张" * 200, 200),
        ("0" * 60, 200),
        ("\x00", 400),
    ],  # a NUL byte is refused before any view (the request guard), never a 500
)
def test_bad_or_empty_queries_answer_without_error(staff, place, query, status) -> None:
    caller(place, "CG", "13900000009")
    response = suggest(login(staff("cs_rep")), query)
    assert response.status_code == status
    assert "data-only" not in response.content.decode()


def test_suggestions_and_panel_need_the_intake_permission(staff, place) -> None:
    point = caller(place, "CG", "13900000008")
    billing = login(staff("billing"))
    assert suggest(billing, "1390000").status_code == 403
    assert billing.get("/service/intake/caller/", {"account": point.account.pk}).status_code == 403


def test_caller_panel_shows_open_orders_and_recent_calls_in_scope(staff, place) -> None:
    point = caller(place, "CG", "13900000007")
    rep = staff("cg_rep")
    open_order = actions.do_create_order(rep, order_type="repair", service_point=point.pk, title="停电了")
    page = (
        login(rep)
        .get("/service/intake/caller/", {"account": point.account.pk, "service_point": point.pk})
        .content.decode()
    )
    assert point.account.number in page and "139****0007" in page
    assert f'name="master" value="{open_order.pk}"' in page and "停电了" in page
    other = login(staff("hx_rep")).get("/service/intake/caller/", {"account": point.account.pk})
    assert point.account.number not in other.content.decode()
    junk = login(rep).get("/service/intake/caller/", {"account": "x", "service_point": "y"})
    assert junk.status_code == 200


def test_a_picked_caller_fills_the_order_with_the_stored_number(staff, place) -> None:
    """A desk that sees numbers masked submits no number: the action takes the primary contact's."""
    point = caller(place, "HX", "13611112222", name="赵六")
    response = login(staff("cs_rep")).post(
        "/service/orders/new/",
        {
            "lookup": "13611112222",
            "account": point.account.pk,
            "service_point": point.pk,
            "contact_from_customer": "True",
            "order_type": "complaint",
            "sub_type": "service",
            "channel": "phone",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = WorkOrder.objects.get()
    assert (order.customer_id, order.account_id, order.service_point_id) == (
        point.account.customer_id,
        point.account_id,
        point.pk,
    )
    assert (order.contact_name, order.contact_phone) == ("赵六", "13611112222")
    assert order.address == point.address


def test_a_picked_id_outside_the_scope_is_not_found_and_nothing_is_written(staff, place) -> None:
    other = caller(place, "HX", "13500000001")
    before = (WorkOrder.objects.count(), AuditEntry.objects.count())
    response = login(staff("cg_rep")).post(
        "/service/orders/new/",
        {
            "account": other.account.pk,
            "service_point": other.pk,
            "order_type": "complaint",
            "sub_type": "service",
            "channel": "phone",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400 and "不在您的数据范围内" in page
    assert other.account.number not in page
    assert (WorkOrder.objects.count(), AuditEntry.objects.count()) == before


def test_intake_without_a_type_asks_for_one(staff, place) -> None:
    point = caller(place, "CG", "13500000002")
    response = login(staff("cg_rep")).post(
        "/service/orders/new/", {"account": point.account.pk, "channel": "phone"}
    )
    assert response.status_code == 400 and "请选择工单类型" in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_link_a_call_to_an_open_order_by_hand(staff, place) -> None:
    """并入此单: the repeat call points at the master, takes its type, starts no clocks, is not dispatched."""
    point = caller(place, "CG", "13500000003")
    rep = staff("cs_rep")
    master = actions.do_create_order(
        rep, order_type="complaint", sub_type="business", service_point=point.pk, title="电费有误"
    )
    response = login(rep).post(
        "/service/orders/new/",
        {
            "account": point.account.pk,
            "service_point": point.pk,
            "contact_from_customer": "True",
            "channel": "phone",
            "master": master.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    call = WorkOrder.objects.exclude(pk=master.pk).get()
    assert call.master_id == master.pk
    assert (call.order_type, call.sub_type) == ("complaint", "business")
    assert call.status == "accepted" and call.assignee_id is None and not call.clocks.exists()
    assert list(call.transitions.values_list("action", flat=True)) == ["create", "link"]
    entry = AuditEntry.objects.filter(action="service.create_order", object_id=str(call.pk)).get()
    assert entry.actor == rep and entry.after["master_id"] == master.pk


def test_a_call_to_a_repeat_call_links_to_its_master(staff, place) -> None:
    point = caller(place, "CG", "13500000004")
    rep = staff("cs_rep")
    master = actions.do_create_order(rep, order_type="complaint", sub_type="service", service_point=point.pk)
    first = actions.do_create_order(rep, order_type="", service_point=point.pk, master=master.pk)
    second = actions.do_create_order(rep, order_type="", service_point=point.pk, master=first.pk)
    assert first.master_id == second.master_id == master.pk


def test_linking_to_a_closed_order_is_refused_and_writes_nothing(staff, place) -> None:
    point = caller(place, "CG", "13500000005")
    rep = staff("cg_rep")
    closed = actions.do_create_order(rep, order_type="enquiry", service_point=point.pk)
    WorkOrder.objects.filter(pk=closed.pk).update(status="archived")
    before = (WorkOrder.objects.count(), AuditEntry.objects.count())
    with pytest.raises(InvalidInput) as refused:
        actions.do_create_order(rep, order_type="", service_point=point.pk, master=closed.pk)
    assert "已回单或归档" in refused.value.errors["master"][0]
    response = login(rep).post(
        "/service/orders/new/", {"account": point.account.pk, "channel": "phone", "master": closed.pk}
    )
    assert response.status_code == 400 and "已回单或归档" in response.content.decode()
    assert (WorkOrder.objects.count(), AuditEntry.objects.count()) == before


def test_linking_to_an_order_outside_the_scope_is_not_found(staff, place) -> None:
    theirs = actions.do_create_order(staff("hx_rep"), order_type="repair", service_point=place("HX").pk)
    point = caller(place, "CG", "13500000006")
    with pytest.raises(InvalidInput) as refused:
        actions.do_create_order(staff("cg_rep"), order_type="", service_point=point.pk, master=theirs.pk)
    assert "未找到" in refused.value.errors["master"][0]
    assert WorkOrder.objects.filter(master=theirs).count() == 0


def test_caller_panel_names_the_tariff_with_the_code_only_as_secondary_text(staff, place) -> None:
    """Given a caller's service point on tariff ``T-PANEL``, the panel shows its catalogue name first."""
    from gridcare.tariffs.models import Tariff

    Tariff.objects.create(code="T-PANEL", name="居民测试阶梯电价")
    point = caller(place, "CG", "13900000008")
    point.tariff_code = "T-PANEL"
    point.save(update_fields=["tariff_code"])
    page = (
        login(staff("cg_rep"))
        .get("/service/intake/caller/", {"account": point.account.pk, "service_point": point.pk})
        .content.decode()
    )
    tariff_cell = page.split('id="caller-tariff">', 1)[1].split("</dd>", 1)[0]
    assert tariff_cell.startswith("居民测试阶梯电价")
    assert '<span class="text-muted small">T-PANEL</span>' in tariff_cell
