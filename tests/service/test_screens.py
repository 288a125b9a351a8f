"""Desk screens: queues by position, intake form, order page steps, dashboard, reports page, customer tab."""

from __future__ import annotations

import io

import openpyxl
from django.test import Client

from gridcare.service import actions
from gridcare.service.models import WorkOrder


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_menu_by_position(staff) -> None:
    rep = login(staff("cs_rep")).get("/").content.decode()
    assert 'data-menu="service:desk"' in rep and 'data-menu="service:dashboard"' not in rep
    tech = login(staff("repair")).get("/").content.decode()
    assert 'data-menu="service:my-queue"' in tech and 'data-menu="service:desk"' not in tech
    supervisor = login(staff("cs_supervisor")).get("/").content.decode()
    assert 'data-menu="service:dashboard"' in supervisor and 'data-menu="service:policy-list"' in supervisor
    assert login(staff("billing")).get("/service/").status_code == 403


def test_intake_form_registers_and_shows_the_order(staff, place) -> None:
    point = place("CG")
    client = login(staff("cg_rep"))
    assert "受理工单" in client.get("/service/orders/new/").content.decode()
    response = client.post(
        "/service/orders/new/",
        {
            "order_type": "repair",
            "channel": "phone",
            "lookup": point.number,
            "contact_phone": "13900001111",
            "title": "停电",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = WorkOrder.objects.get(title="停电")
    assert order.service_point == point
    page = client.get(response["Location"]).content.decode()
    assert order.number in page and 'id="clocks"' in page
    bad = client.post("/service/orders/new/", {"order_type": "repair", "channel": "phone", "lookup": "NOPE"})
    assert bad.status_code == 400 and "未找到" in bad.content.decode()


def test_queues_and_steps_from_the_order_page(staff, place) -> None:
    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    head = login(staff("cg_head"))
    team = head.get("/service/team/")
    assert order.number in team.content.decode()
    assert head.get("/service/my/").context["page"].paginator.count == 0
    head.post(f"/service/orders/{order.pk}/take/")
    assert order.number in head.get("/service/my/").content.decode()
    refused = head.post(f"/service/orders/{order.pk}/archive/", follow=True)
    assert "不能从" in refused.content.decode()
    head.post(f"/service/orders/{order.pk}/suspend/", {"reason": ""}, follow=True)
    order.refresh_from_db()
    assert order.status == "taken"
    head.post(f"/service/orders/{order.pk}/suspend/", {"reason": "等待停电计划"})
    order.refresh_from_db()
    assert order.status == "suspended"
    assert login(staff("hx_rep")).get(f"/service/orders/{order.pk}/").status_code == 404


def test_desk_export_holds_the_queue(staff, place) -> None:
    for _ in range(3):
        actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    response = login(staff("cg_head")).get("/service/team/", {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert len(list(sheet.iter_rows(values_only=True))) == 4


def test_dashboard_reports_policies_and_customer_tab(staff, place) -> None:
    from gridcare.customers.tabs import customer_tabs
    from gridcare.service.customer360 import render_orders

    point = place("CG")
    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=point.pk)
    supervisor = login(staff("cg_head"))  # the supervisor of the station the order belongs to
    page = supervisor.get("/service/dashboard/")
    assert (
        page.status_code == 200 and page.context["data"]["open"] >= 1 and "echarts" in page.content.decode()
    )
    reports_page = supervisor.get("/service/reports/", {"month": "2026-11"})
    assert reports_page.status_code == 200
    assert supervisor.get("/service/reports/work/2026-11.pdf").content.startswith(b"%PDF")
    assert supervisor.get("/service/reports/work/2026-13.pdf").status_code == 404
    assert supervisor.get("/service/policies/").status_code == 200
    assert login(staff("cs_rep")).get("/service/policies/").status_code == 403
    assert "work-orders" in [t.key for t in customer_tabs(staff("cs_rep"))]
    request = type("R", (), {"user": staff("cg_rep")})()
    assert order.number in render_orders(request, point.account.customer)
    request.user = staff("hx_rep")
    assert order.number not in render_orders(request, point.account.customer)


def test_order_page_reads_statuses_and_limits_in_words(staff, place) -> None:
    point = place("CG")
    order = actions.do_create_order(
        staff("cg_rep"), order_type="complaint", sub_type="service", account=point.account_id
    )
    html = login(staff("cg_rep")).get(f"/service/orders/{order.pk}/").content.decode()
    transitions = html[
        html.index('id="transitions"') : html.index("</table>", html.index('id="transitions"'))
    ]
    assert order.get_status_display() in transitions and f">{order.status}<" not in transitions
    clocks = html[html.index('id="clocks"') : html.index("</table>", html.index('id="clocks"'))]
    assert "<td>" in clocks and "小时" in clocks and "分钟" not in clocks
