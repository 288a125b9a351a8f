"""Lists as users expect (issue #10 point 5): 全部 as the empty choice, yes/no filters without 未知, no technical
filters, page numbers with jump and size, Chinese export names, scoped autocomplete, the org chart as a tree and
status words that agree with the dates."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from gridcare.core.audit import bulk_record
from gridcare.core.models import AuditEntry
from gridcare.customers import actions as customer_actions
from gridcare.customers.models import Account, Customer, SupplyContract
from gridcare.metering.models import Meter
from gridcare.metering.views import due_flag, overdue_flag
from gridcare.org.models import OrgUnit, User
from gridcare.service.models import WorkOrder
from gridcare.service.views import sla_reading

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def options_of(html: str, name: str) -> list[str]:
    """The option texts of the select called ``name``."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return [text.strip() for text in re.findall(r"<option[^>]*>(.*?)</option>", select.group(1), re.S)]


# ------------------------------------------------------------------------------------------------ filters
def test_choice_filters_offer_all_and_yes_no_filters_read_all_yes_no(staff) -> None:
    html = signed_in(staff("manager")).get("/customers/accounts/").content.decode()
    assert "---------" not in html and "未知" not in html
    assert options_of(html, "status")[0] == "全部"
    assert options_of(html, "billing_cycle")[0] == "全部"
    assert options_of(html, "is_key_account") == ["全部", "是", "否"]
    assert options_of(html, "under")[0] == "全部"


def test_list_defaults_hold_after_the_api_built_the_class_fields(staff) -> None:
    """The API schema and filter backend build form fields on the class's filters; a later list page must still
    read 全部 / 是 / 否 (the copied field was kept with Django's defaults once, depending on test order)."""
    from gridcare.customers.filters import AccountFilter

    for name in ("billing_cycle", "status", "is_key_account"):
        assert AccountFilter.base_filters[name].field is not None  # built and cached on the class's filter
    html = signed_in(staff("manager")).get("/customers/accounts/").content.decode()
    assert "---------" not in html and "未知" not in html
    assert options_of(html, "billing_cycle")[0] == "全部"
    assert options_of(html, "is_key_account") == ["全部", "是", "否"]


def test_yes_no_filter_filters(staff, make_point) -> None:
    key = make_point("CG", kind="organisation", customer_class="commercial", manager=staff("key_account"))
    plain = make_point("CG")
    client = signed_in(staff("manager"))
    yes = [
        obj for obj, _values in client.get("/customers/accounts/", {"is_key_account": "true"}).context["rows"]
    ]
    no = [
        obj
        for obj, _values in client.get("/customers/accounts/", {"is_key_account": "false"}).context["rows"]
    ]
    assert key.account in yes and plain.account not in yes
    assert plain.account in no and key.account not in no


def test_dates_are_picked_in_date_inputs(staff) -> None:
    html = signed_in(staff("manager")).get("/metering/installations/").content.decode()
    assert re.search(r'<input type="date" name="installed_from"', html)
    html = signed_in(staff("admin")).get("/system/audit/").content.decode()
    assert re.search(r'<input type="date" name="at_from"', html)


def test_no_path_prefix_or_raw_id_filters(staff, make_point) -> None:
    cg, hx = make_point("CG", name="城关甲"), make_point("HX", name="河西乙")
    client = signed_in(staff("manager"))
    for url in [
        "/customers/",
        "/customers/accounts/",
        "/customers/service-points/",
        "/org/staff/",
        "/metering/meters/",
    ]:
        page = client.get(url)
        labels = [str(field.label) for field in page.context["filterset"].form]
        assert not [
            label for label in labels if "路径" in label or "path" in label.lower() or label == "ID"
        ], url
    desk = client.get("/service/orders/")
    labels = [str(field.label) for field in desk.context["filterset"].form]
    assert desk.status_code == 200 and "客户ID" not in labels and "客户" in labels
    # a unit picked from the org chart matches it and everything below it
    station = OrgUnit.objects.get(code="CG")
    rows = client.get("/customers/", {"under": station.pk}).context["rows"]
    customers = [obj for obj, _values in rows]
    assert cg.account.customer in customers and hx.account.customer not in customers
    company = OrgUnit.objects.get(code="GC")
    customers = [obj for obj, _values in client.get("/customers/", {"under": company.pk}).context["rows"]]
    assert {cg.account.customer, hx.account.customer} <= set(customers)


def test_audit_log_picks_a_record_kind_and_a_person_not_labels_and_ids(staff, many_audit_rows) -> None:
    client = signed_in(staff("admin"))
    html = client.get("/system/audit/").content.decode()
    kinds = options_of(html, "object_type")
    assert kinds[0] == "全部" and "组织机构" in kinds and "org.orgunit" not in kinds
    assert 'data-autocomplete="/org/staff/autocomplete/"' in html
    assert (
        '<input type="hidden" name="object_id"' in html
    )  # kept for links from a record's history, not a box
    rows = client.get("/system/audit/", {"object_type": "org.orgunit", "actor": staff("admin").pk}).context[
        "rows"
    ]
    assert rows and all(o.object_type == "org.orgunit" and o.actor_id == staff("admin").pk for o, _v in rows)


def test_a_unit_outside_the_scope_matches_nothing(staff, make_point) -> None:
    make_point("CG")
    page = signed_in(staff("hx_rep")).get("/customers/", {"under": OrgUnit.objects.get(code="CG").pk})
    assert page.status_code == 200 and page.context["rows"] == []


# ------------------------------------------------------------------------------------------------ paging
@pytest.fixture
def many_audit_rows(staff) -> None:
    """Enough audit rows for several pages of every size."""
    rows = [
        {"object_type": "org.orgunit", "object_id": str(n), "object_repr": f"单位 {n}"} for n in range(400)
    ]
    bulk_record(staff("admin"), "org.test_paging", rows)


def test_pages_size_and_jump_keep_the_filters(staff, many_audit_rows) -> None:
    client = signed_in(staff("admin"))
    total = AuditEntry.objects.count()
    page = client.get("/system/audit/", {"size": "50"})
    assert len(page.context["rows"]) == 50 and page.context["page"].paginator.num_pages == -(-total // 50)
    html = page.content.decode()
    assert f"共 {total} 条" in html
    assert "…" in html  # pages left out between the current one and the last
    assert 'name="size"' in html and 'id="page-jump"' in html
    last = page.context["page"].paginator.num_pages
    assert f"size=50&amp;page={last}" in html  # the last page's link keeps the size
    assert '<input type="hidden" name="size" value="50">' in html  # and so does the filter form
    third = client.get("/system/audit/", {"size": "50", "page": "3", "action": "org."})
    assert third.context["page"].number in (3, third.context["page"].paginator.num_pages)
    third_html = third.content.decode()
    assert '<input type="hidden" name="action" value="org.">' in third_html  # the jump box keeps the filter
    assert all(obj.action.startswith("org.") for obj, _values in third.context["rows"])


@pytest.mark.parametrize(
    ("params", "size", "number"),
    [
        ({"size": "abc"}, None, 1),
        ({"size": "100000"}, None, 1),
        ({"size": "-5"}, None, 1),
        ({"size": "25", "page": "abc"}, 25, 1),
        ({"page": "-3"}, None, None),
        ({"page": "99999999999"}, None, None),
        ({"page": "2", "size": "100"}, 100, 2),
    ],
)
def test_bad_size_or_page_never_fails(staff, many_audit_rows, params, size, number) -> None:
    """A size not offered falls back to the list's own (``None``); a page out of range shows the last one."""
    response = signed_in(staff("admin")).get("/system/audit/", params)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.per_page == (size or response.context["view"].paginate_by)
    assert page.number == (number or page.paginator.num_pages)


# ------------------------------------------------------------------------------------------------ export
def test_export_keeps_a_chinese_file_name(staff) -> None:
    response = signed_in(staff("manager")).get("/customers/", {"export": "xlsx"})
    header = response["Content-Disposition"]
    stamp = f"{timezone.localdate():%Y%m%d}"
    assert header.startswith("attachment; ")
    assert f'filename="customers_{stamp}.xlsx"' in header  # the ASCII fallback
    encoded = re.search(r"filename\*=UTF-8''(\S+)", header)
    assert encoded and unquote(encoded.group(1)) == f"客户档案_{stamp}.xlsx"
    assert header.isascii()  # the header itself stays ASCII (RFC 5987)


def disposition_name(header: str) -> str:
    encoded = re.search(r"filename\*=UTF-8''(\S+)", header)
    assert encoded and header.isascii(), header
    return unquote(encoded.group(1))


def test_report_and_import_template_keep_chinese_file_names(staff) -> None:
    response = signed_in(staff("manager")).get("/service/reports/complaints/2026-11.xlsx")
    assert response.status_code == 200
    name = disposition_name(response["Content-Disposition"])
    assert name.endswith("_2026-11.xlsx") and re.search(r"[\u4e00-\u9fff]", name)
    assert 'filename="service-complaints-2026-11.xlsx"' in response["Content-Disposition"]
    template = signed_in(staff("manager")).get("/customers/import/template/customers/")
    assert disposition_name(template["Content-Disposition"]) == "客户档案导入模板.xlsx"


# ------------------------------------------------------------------------------------------------ autocomplete
def test_autocomplete_never_leaves_the_station(staff, make_point) -> None:
    mine = make_point("CG", name="城关客户")
    theirs = make_point("HX", name="河西客户")
    client = signed_in(staff("cg_rep"))
    found = client.get("/customers/autocomplete/", {"q": "客户"}).json()["results"]
    assert [row["value"] for row in found] == [str(mine.account.customer.pk)]
    assert client.get("/customers/autocomplete/", {"q": theirs.account.customer.number}).json() == {
        "results": []
    }
    points = client.get("/customers/service-points/autocomplete/", {"q": ""}).json()["results"]
    assert str(theirs.pk) not in {row["value"] for row in points} and str(mine.pk) in {
        row["value"] for row in points
    }
    # the id of another station's customer, typed into the filter, matches nothing
    page = client.get("/customers/accounts/", {"customer": theirs.account.customer.pk})
    assert page.status_code == 200 and page.context["rows"] == []
    page = client.get("/customers/accounts/", {"customer": mine.account.customer.pk})
    assert [obj for obj, _values in page.context["rows"]] == [mine.account]


def test_autocomplete_answers_at_most_twenty_by_number_or_name(staff, make_point) -> None:
    for _n in range(23):
        make_point("CG", name="批量客户")
    client = signed_in(staff("manager"))
    rows = client.get("/customers/autocomplete/", {"q": "批量"}).json()["results"]
    assert len(rows) == 20 and all("批量客户" in row["text"] for row in rows)
    one = Customer.objects.filter(name="批量客户").first()
    assert one is not None
    rows = client.get("/customers/autocomplete/", {"q": one.number}).json()["results"]
    assert rows[0]["value"] == str(one.pk)


def test_autocomplete_needs_the_lists_permission(staff) -> None:
    assert signed_in(staff("customer")).get("/customers/autocomplete/").status_code == 403
    assert Client().get("/customers/autocomplete/").status_code == 302  # sign in first


def test_a_searchable_filter_renders_only_the_chosen_row(staff, make_point) -> None:
    chosen, other = make_point("CG", name="选中客户"), make_point("CG", name="未选客户")
    html = (
        signed_in(staff("manager"))
        .get("/customers/accounts/", {"customer": chosen.account.customer.pk})
        .content.decode()
    )
    assert 'data-autocomplete="/customers/autocomplete/"' in html
    assert options_of(html, "customer") == ["全部", str(chosen.account.customer)]
    assert str(other.account.customer) not in html
    bad = signed_in(staff("manager")).get("/customers/accounts/", {"customer": "x'; drop"})
    assert bad.status_code == 200 and bad.context["rows"] == []


def test_the_desk_filters_by_a_customer_picked_not_typed(staff) -> None:
    html = signed_in(staff("manager")).get("/service/orders/").content.decode()
    assert 'data-autocomplete="/customers/autocomplete/"' in html


# ------------------------------------------------------------------------------------------------ org chart
def test_org_chart_is_a_tree_with_heads_and_staff_counts(staff) -> None:
    page = signed_in(staff("manager")).get("/org/units/")
    html = page.content.decode()
    roots = page.context["roots"]
    assert [node.unit.code for node in roots] == ["GC"]

    def walk(nodes):
        for node in nodes:
            yield node
            yield from walk(node.children)

    nodes = list(walk(roots))
    assert len(nodes) == OrgUnit.objects.count()
    for node in nodes:
        assert node.staff_count == User.objects.filter(org_unit=node.unit, is_active=True).count()
        assert all(child.unit.parent_id == node.unit.pk for child in node.children)
    assert html.count('<details class="org-node"') == len(nodes)
    cg = OrgUnit.objects.get(code="CG")
    assert f'href="/org/staff/?under={cg.pk}"' in html and 'id="flat-list"' in html
    flat = signed_in(staff("manager")).get("/org/units/", {"view": "list"})
    assert len(flat.context["rows"]) == min(OrgUnit.objects.count(), 25)


def test_org_chart_is_scoped(staff) -> None:
    roots = signed_in(staff("cg_head")).get("/org/units/").context["roots"]
    assert [node.unit.code for node in roots] == ["CG"]


# ------------------------------------------------------------------------------------------------ statuses
def test_a_contract_past_its_end_date_reads_expired(staff, make_point, system) -> None:
    point = make_point("CG")
    today = timezone.localdate()
    past = customer_actions.do_create_contract(
        system,
        account=point.account,
        number="HT-PAST-1",
        signed_on=today - dt.timedelta(days=400),
        valid_from=today - dt.timedelta(days=400),
        valid_to=today - dt.timedelta(days=1),
        capacity_kva=Decimal("8"),
    )
    current = customer_actions.do_create_contract(
        system,
        account=point.account,
        number="HT-NOW-1",
        signed_on=today - dt.timedelta(days=10),
        valid_from=today - dt.timedelta(days=10),
        valid_to=today,
        capacity_kva=Decimal("8"),
    )
    assert past.status == SupplyContract.Status.ACTIVE and past.state == SupplyContract.State.EXPIRED
    assert current.state == SupplyContract.State.ACTIVE
    client = signed_in(staff("manager"))
    rows = {obj.number: values for obj, values in client.get("/customers/contracts/").context["rows"]}
    assert "已到期" in rows["HT-PAST-1"] and "履行中" not in rows["HT-PAST-1"]
    assert "履行中" in rows["HT-NOW-1"]
    expired = [
        o.number for o, _v in client.get("/customers/contracts/", {"status": "expired"}).context["rows"]
    ]
    active = [o.number for o, _v in client.get("/customers/contracts/", {"status": "active"}).context["rows"]]
    assert "HT-PAST-1" in expired and "HT-NOW-1" not in expired
    assert "HT-NOW-1" in active and "HT-PAST-1" not in active
    tab = client.get(f"/customers/{point.account.customer_id}/tab/contracts/").content.decode()
    assert 'data-state="expired"' in tab and "已到期" in tab
    assert Account.objects.get(pk=point.account.pk)  # nothing else changed


def test_overdue_meters_show_days_overdue_in_red() -> None:
    today = timezone.localdate()
    meter = Meter(next_test_due=today - dt.timedelta(days=12), rotation_due=today - dt.timedelta(days=3))
    flag = overdue_flag(meter)
    assert flag is not None and flag.tone == "danger" and str(flag) == "超期 12 天"
    assert overdue_flag(Meter(next_test_due=today + dt.timedelta(days=5))) is None
    # the plan says when, in the same words
    soon = due_flag(
        Meter(next_test_due=today + dt.timedelta(days=5), rotation_due=today + dt.timedelta(days=70))
    )
    assert soon is not None and str(soon) == "5 天后到期" and soon.tone == "warning"
    assert str(due_flag(Meter(next_test_due=today))) == "今天到期"
    later = due_flag(Meter(next_test_due=today + dt.timedelta(days=60)))
    assert later is not None and later.tone == "secondary"


def test_the_overdue_list_shows_the_days_in_red_on_screen_and_in_excel(
    staff, make_point, make_meter, system
) -> None:
    from gridcare.metering.actions import do_install_meter

    today = timezone.localdate()
    late = make_meter(verified_on=today - dt.timedelta(days=100))
    do_install_meter(
        system,
        late,
        make_point("CG"),
        installed_on=today - dt.timedelta(days=70),
        initial_reads={"active_total": 0},
    )
    late.refresh_from_db()
    expected = f"超期 {(today - min(d for d in (late.next_test_due, late.rotation_due, late.replace_due) if d)).days} 天"
    client = signed_in(staff("metering"))
    html = client.get("/metering/overdue/").content.decode()
    assert f'<span class="badge text-bg-danger" data-flag="danger">{expected}</span>' in html
    assert "按时" not in html
    book = openpyxl.load_workbook(io.BytesIO(client.get("/metering/overdue/", {"export": "xlsx"}).content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][1] == "超期天数" and rows[1][1] == expected


def test_work_orders_show_time_left_or_overdue_by_like_the_queues() -> None:
    now = timezone.now()
    late = WorkOrder(status="dispatched", due_at=now - dt.timedelta(hours=5, minutes=10), sla_state="ok")
    reading = sla_reading(late, now)
    assert reading.tone == "danger" and str(reading) == "已超时 5 小时 10 分" and "按时" not in str(reading)
    near = WorkOrder(
        status="dispatched", due_at=now + dt.timedelta(minutes=40), warn_at=now - dt.timedelta(hours=1)
    )
    assert sla_reading(near, now).tone == "warning" and str(sla_reading(near, now)) == "剩余 40 分钟"
    easy = WorkOrder(
        status="dispatched", due_at=now + dt.timedelta(days=3, hours=2), warn_at=now + dt.timedelta(days=2)
    )
    assert sla_reading(easy, now).tone == "success" and str(sla_reading(easy, now)) == "剩余 3 天 2 小时"
    paused = WorkOrder(status="suspended", due_at=now - dt.timedelta(hours=1))
    assert str(sla_reading(paused, now)) == "暂停计时"


def test_autocomplete_json_is_small(staff) -> None:
    body = signed_in(staff("admin")).get("/org/staff/autocomplete/", {"q": ""}).content
    rows = json.loads(body)["results"]
    assert 0 < len(rows) <= 20 and all(set(row) == {"value", "text"} for row in rows)
