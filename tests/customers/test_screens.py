"""Customer screens: the 360 page with its tabs (including tabs contributed by other apps), audited "show",
search as you type, lists with Excel export, dated-change forms, the demo."""

from __future__ import annotations

import io

import openpyxl
from django.test import Client

from gridcare.core.models import AuditEntry
from gridcare.customers.models import Account, Customer
from gridcare.customers.tabs import CustomerTab, customer_tabs


def test_customer_360_page_renders_every_tab(client, staff, make_point, make_meter, system) -> None:
    import datetime as dt

    from gridcare.metering.actions import do_install_meter

    point = make_point("CG", name="孙丽华")
    meter = make_meter()
    do_install_meter(
        system, meter, point, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 3}
    )
    customer = point.account.customer
    client.force_login(staff("cg_rep"))
    page = client.get(f"/customers/{customer.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "孙丽华" in html and "1101**********002X" in html and "138****5678" in html
    assert "11010519491231002X" not in html and "13812345678" not in html
    keys = [t.key for t in page.context["tabs"]]
    ours = ["accounts", "service_points", "contracts", "meters", "history"]
    assert [k for k in keys if k in ours] == ours  # other apps (e.g. service) may add theirs in between
    assert 'id="unmask"' not in html  # cg_rep lacks customer.unmask
    for key, needle in [
        ("service_points", point.number),
        ("meters", meter.asset_no),
        (
            "history",
            "新建用电地址",
        ),  # the audit action in words (issue #10), never customers.create_service_point
        ("accounts", point.account.number),
        ("contracts", "tab-contracts"),
    ]:
        tab = client.get(f"/customers/{customer.pk}/tab/{key}/")
        assert tab.status_code == 200 and needle in tab.content.decode(), key
        assert needle in client.get(f"/customers/{customer.pk}/?tab={key}").content.decode()
    assert client.get(f"/customers/{customer.pk}/tab/nope/").status_code == 404


def test_tabs_follow_permissions_and_contributions(staff, monkeypatch) -> None:
    import types

    from gridcare.customers import tabs as registry

    extra = types.SimpleNamespace(
        TABS=[CustomerTab("workorders", "工单", "workorder.create", lambda r, c: "<p>WO</p>", order=50)]
    )
    original = registry.app_modules
    monkeypatch.setattr(registry, "app_modules", lambda name: [*original(name), (None, extra)])
    assert "workorders" in [t.key for t in customer_tabs(staff("cg_rep"))]
    assert "workorders" not in [t.key for t in customer_tabs(staff("metering"))]  # no workorder.create
    assert "meters" not in [t.key for t in customer_tabs(staff("collector"))]  # no meter.view


def test_show_button_unmasks_and_audits(client, staff, make_point) -> None:
    customer = make_point("CG").account.customer
    client.force_login(staff("manager"))
    assert 'id="unmask"' in client.get(f"/customers/{customer.pk}/").content.decode()
    before = AuditEntry.objects.filter(action="customers.unmask").count()
    shown = client.post(f"/customers/{customer.pk}/unmask/", HTTP_HX_REQUEST="true")
    assert shown.status_code == 200 and "11010519491231002X" in shown.content.decode()
    assert AuditEntry.objects.filter(action="customers.unmask").count() == before + 1
    rep = Client()
    rep.force_login(staff("cg_rep"))
    assert rep.post(f"/customers/{customer.pk}/unmask/").status_code == 403


def test_search_screen_full_page_and_htmx_fragment(client, staff, make_point) -> None:
    point = make_point("CG", name="周杰伦", address="城关镇朝阳路88号")
    client.force_login(staff("cg_rep"))
    page = client.get("/customers/search/", {"q": "朝阳路"})
    assert page.status_code == 200 and "周杰伦" in page.content.decode() and "<html" in page.content.decode()
    fragment = client.get("/customers/search/", {"q": point.account.number[:6]}, HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and point.account.number in fragment.content.decode()


def test_lists_filter_and_export(client, staff, make_point) -> None:
    make_point("CG", name="甲")
    make_point("CG", name="乙", voltage="380V", customer_class="commercial", capacity="100")
    client.force_login(staff("cg_rep"))
    for url in (
        "/customers/",
        "/customers/accounts/",
        "/customers/service-points/",
        "/customers/contracts/",
        "/customers/contracts/expiring/",
        "/metering/meters/",
        "/metering/installations/",
        "/metering/plan/",
        "/metering/overdue/",
        "/customers/import/",
    ):
        assert client.get(url).status_code == 200, url
    response = client.get("/customers/service-points/", {"customer_class": "commercial", "export": "xlsx"})
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "用电地址编号" and len(rows) == 2
    masked = client.get("/customers/", {"export": "xlsx"})
    values = [
        r[4] for r in openpyxl.load_workbook(io.BytesIO(masked.content)).active.iter_rows(values_only=True)
    ][1:]
    assert values and all("*" in v for v in values)


def test_forms_create_and_change(client, staff, make_point) -> None:
    from gridcare.org.models import OrgUnit

    client.force_login(staff("cg_rep"))
    cg = OrgUnit.objects.get(code="CG").pk
    bad = client.post(
        "/customers/new/",
        {
            "name": "吴磊",
            "kind": "individual",
            "id_type": "resident_id",
            "id_number": "110105194912310021",
            "org_unit": cg,
            "contact_name": "吴磊",
            "contact_mobile": "13912345678",
        },
    )
    assert bad.status_code == 400 and "校验位" in bad.content.decode()
    good = client.post(
        "/customers/new/",
        {
            "name": "吴磊",
            "kind": "individual",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "org_unit": cg,
            "contact_name": "吴磊",
            "contact_mobile": "13912345678",
        },
    )
    assert good.status_code == 302
    customer = Customer.objects.get(name="吴磊")
    assert (
        client.post(
            f"/customers/{customer.pk}/accounts/new/",
            {"org_unit": cg, "billing_cycle": "monthly", "payment_method": "online", "credit_rating": "A"},
        ).status_code
        == 302
    )
    account = Account.objects.get(customer=customer)
    created = client.post(
        f"/customers/accounts/{account.pk}/service-points/new/",
        {
            "address": "城关镇文化路6号",
            "voltage_level": "220V",
            "customer_class": "residential",
            "sub_class": "城镇居民",
            "pf_standard": "none",
            "area_class": "urban",
            "tariff_code": "RES-TIER",
            "capacity_kva": "6",
            "valid_from": "2026-01-01",
        },
    )
    assert created.status_code == 302
    point = account.service_points.get()
    # a dated change of capacity is not archive work: the station's rep may not, the metering engineer may
    assert (
        client.post(
            f"/customers/service-points/{point.pk}/capacity/",
            {"capacity_kva": "10", "valid_from": "2026-05-01"},
        ).status_code
        == 403
    )
    client.force_login(staff("metering"))
    overlap = client.post(
        f"/customers/service-points/{point.pk}/capacity/", {"capacity_kva": "10", "valid_from": "2025-12-01"}
    )
    assert overlap.status_code == 400 and "重叠" in overlap.content.decode()
    assert (
        client.post(
            f"/customers/service-points/{point.pk}/capacity/",
            {"capacity_kva": "10", "valid_from": "2026-05-01"},
        ).status_code
        == 302
    )
    detail = client.get(f"/customers/service-points/{point.pk}/").content.decode()
    assert "2026-05-01" in detail and "10.00" in detail


def test_demo_builds_every_class_and_assigns_key_accounts(system, staff) -> None:
    from gridcare.customers import demo as customers_demo
    from gridcare.customers.models import ServicePoint
    from gridcare.metering import demo as metering_demo
    from gridcare.metering.models import Meter

    customers_demo.SCALES["tiny"] = 300
    metering_demo.STOCK["tiny"] = 10
    try:
        lines = list(customers_demo.build(system, "tiny")) + list(metering_demo.build(system, "tiny"))
    finally:
        del customers_demo.SCALES["tiny"], metering_demo.STOCK["tiny"]
    assert any("300 accounts" in line for line in lines)
    assert set(ServicePoint.objects.values_list("customer_class", flat=True)) == {
        "residential",
        "commercial",
        "agriculture",
        "large_industry",
    }
    assert set(Account.objects.values_list("org_unit__code", flat=True)) == {"CG", "HX", "SNS"}
    keys = Account.objects.filter(is_key_account=True)
    assert keys.exists() and set(keys.values_list("account_manager__username", flat=True)) == {"key_account"}
    assert Meter.objects.filter(status="installed").count() == ServicePoint.objects.count()
    assert Meter.objects.filter(status="in_stock").count() == 10
    # realistic, valid identities: every ID number passes its checksum
    from gridcare.customers.validators import is_valid_credit_code, is_valid_resident_id

    for id_type, number in Customer.objects.values_list("id_type", "id_number"):
        assert (is_valid_resident_id if id_type == "resident_id" else is_valid_credit_code)(number)
    assert list(customers_demo.build(system, "tiny"))[0].startswith(
        "customers: demo customers already present"
    )
