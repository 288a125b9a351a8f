"""Staff screens: workbench per position, list/detail/form patterns, Excel export, scope, errors, language."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from gridcare.core.models import AuditEntry
from gridcare.org.models import OrgUnit, Position, User


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_login_page_and_redirect_for_anonymous(client) -> None:
    assert client.get("/").status_code == 302
    page = client.get("/login/")
    assert page.status_code == 200
    assert "登录" in page.content.decode()


def test_the_favicon_is_linked_and_served_at_favicon_ico(client) -> None:
    """Pages link the SVG icon; a browser asking ``/favicon.ico`` on its own is sent to it, signed in or not."""
    page = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in page
    asked = client.get("/favicon.ico")
    assert (asked.status_code, asked["Location"]) == (301, "/static/web/favicon.svg")
    icon = client.get("/static/web/favicon.svg")
    assert icon.status_code == 200 and icon["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in b"".join(icon.streaming_content)


def test_workbench_menu_follows_position(client, staff) -> None:
    admin_page = login(client, staff("admin")).get("/").content.decode()
    assert 'data-menu="org:unit-list"' in admin_page and 'data-menu="core:audit-log"' in admin_page
    rep_page = login(Client(), staff("cs_rep")).get("/").content.decode()
    assert 'data-menu="org:unit-list"' in rep_page
    assert 'data-menu="core:audit-log"' not in rep_page
    assert "热线受理咨询/投诉/报修/举报" in rep_page
    assert "一次解决率" in rep_page


def test_list_filters_and_paginates(client, staff) -> None:
    login(client, staff("manager"))
    page = client.get("/org/staff/", {"q": "城关"})
    assert page.status_code == 200
    page = client.get("/org/staff/", {"position": Position.objects.get(code="service_rep").pk})
    names = {row[1][1] for row in page.context["rows"]}
    assert names == {"cs_rep"}  # the hotline; since issue #10 the station desks hold station_rep
    page = client.get("/org/staff/", {"position": Position.objects.get(code="station_rep").pk})
    names = {row[1][1] for row in page.context["rows"]}
    assert names == {"cg_rep", "hx_rep", "sn_rep"}


def test_list_is_scoped(client, staff) -> None:
    page = login(client, staff("cg_head")).get(
        "/org/units/", {"view": "list"}
    )  # the flat list; the tree: test_lists
    assert [obj.code for obj, _values in page.context["rows"]] == ["CG"]


def test_excel_export_opens_and_holds_the_filtered_rows(client, staff) -> None:
    login(client, staff("manager"))
    response = client.get("/org/units/", {"kind": "station", "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "名称"
    assert sorted(r[0] for r in rows[1:]) == sorted(
        OrgUnit.objects.filter(kind="station").values_list("name", flat=True)
    )


def test_detail_outside_scope_is_404(client, staff) -> None:
    login(client, staff("cg_rep"))
    assert client.get(f"/org/staff/{staff('hx_rep').pk}/").status_code == 404
    assert client.get(f"/org/staff/{staff('cg_reader').pk}/").status_code == 200


def test_screen_without_permission_is_403(client, staff) -> None:
    login(client, staff("cs_rep"))
    assert client.get("/system/audit/").status_code == 403
    assert client.get("/org/units/new/").status_code == 403


def test_form_bad_input_shows_errors_and_writes_nothing(client, staff) -> None:
    login(client, staff("admin"))
    before = (OrgUnit.objects.count(), AuditEntry.objects.count())
    response = client.post("/org/units/new/", {"code": "GC", "name": "", "kind": "team"})
    assert response.status_code == 400
    form = response.context["form"]
    assert "name" in form.errors
    response = client.post(
        "/org/units/new/",
        {"code": "GC", "name": "重复", "kind": "team", "parent": OrgUnit.objects.get(code="GC").pk},
    )
    assert response.status_code == 400
    assert "已存在" in str(response.context["form"].errors["code"])
    assert (OrgUnit.objects.count(), AuditEntry.objects.count()) == before


def test_form_creates_staff_and_shows_history(client, staff) -> None:
    # a superuser: since issue #9 the system administrator may not hand out the meter reader's permissions,
    # which it does not hold (tests/org/test_security.py)
    login(client, staff("system"))
    response = client.post(
        "/org/staff/new/",
        {
            "username": "lisi",
            "full_name": "李四",
            "phone": "13900001111",
            "password": "pass-word-9",
            "position": Position.objects.get(code="meter_reader").pk,
            "org_unit": OrgUnit.objects.get(code="HX").pk,
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="lisi")
    detail = client.get(created.get_absolute_url()).content.decode()
    history = detail[detail.index('id="history"') :]
    assert "新建员工账号" in history and "org.create_staff" not in history  # the action in words (issue #10)
    assert "李四" in history  # field by field: the new full name


def test_leave_screen_hands_over(client, staff) -> None:
    login(client, staff("admin"))
    response = client.post(f"/org/staff/{staff('metering').pk}/leave/", {"successor": staff("manager").pk})
    assert response.status_code == 302
    assert OrgUnit.objects.get(code="JL").head == staff("manager")


def test_position_edit_screen(client, staff) -> None:
    login(client, staff("admin"))
    position = Position.objects.get(code="collector")
    response = client.post(f"/org/positions/{position.pk}/edit/", {"data_scope": "bogus"})
    assert response.status_code == 400
    response = client.post(
        f"/org/positions/{position.pk}/limit/", {"limit_type": "writeoff_amount", "amount": "300"}
    )
    assert response.status_code == 302
    assert position.limits.get(limit_type__code="writeoff_amount").amount == 300


def test_permission_editor_shows_names_not_codes(client, staff) -> None:
    """The permission editor lists each permission by its name (查看抄表数据), never by its code."""
    login(client, staff("admin"))
    position = Position.objects.get(code="meter_reader")
    html = client.get(f"/org/positions/{position.pk}/edit/").content.decode()
    assert ">查看抄表数据</option>" in html
    assert "(reading.view)" not in html and "reading.view<" not in html


def test_audit_log_screen_searches(client, staff) -> None:
    login(client, staff("auditor"))
    page = client.get("/system/audit/", {"action": "org.create_staff"})
    assert page.status_code == 200
    assert page.context["page"].paginator.count == User.objects.filter(position__isnull=False).count()


@pytest.mark.parametrize(("language", "text"), [("en", "Workbench"), ("zh-hans", "工作台")])
def test_language_switch(client, staff, language: str, text: str) -> None:
    login(client, staff("cs_rep"))
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert text in client.get("/").content.decode()


def test_money_and_dates_format(staff) -> None:
    from decimal import Decimal

    from gridcare.core.money import format_yuan

    assert format_yuan(Decimal("1234.505")) == "¥1,234.51"
    assert format_yuan(Decimal("-0.005")) == "¥-0.01"


def test_chinese_is_the_default_even_for_an_english_browser(client, staff) -> None:
    login(client, staff("cs_rep"))
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "工作台" in page.content.decode()
    assert page["Content-Language"] == "zh-hans"


def test_excel_sheet_title_with_characters_excel_refuses() -> None:
    from gridcare.web.excel import build_workbook

    content = build_workbook("装拆记录/换表: 2026年[11]月*?", ["列"], [["值"]])
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet.title == "装拆记录-换表- 2026年-11-月--"
    assert sheet["A2"].value == "值"
