"""The one display layer: what a person reads for a stored value (issue #10 point 3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from gridcare.core.models import AuditEntry
from gridcare.customers.models import ServicePoint
from gridcare.metering.models import Meter
from gridcare.org.models import OrgUnit
from gridcare.service.choices import ClockKind
from gridcare.service.models import SLAPolicy, WorkOrder
from gridcare.web.display import (
    audit_changes,
    display,
    duration,
    export_value,
    field_display,
    money,
    ratio,
    with_unit,
)
from gridcare.web.views import Column


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def field(model, name):
    return model._meta.get_field(name)


def test_nothing_reads_as_a_dash_and_booleans_as_words() -> None:
    assert display(None) == "—"
    assert display("") == "—"
    assert display(float("nan")) == "—"
    assert display(True) == "是"
    assert display(False) == "否"


def test_a_choice_code_reads_as_its_label() -> None:
    assert display("accepted", field(WorkOrder, "status")) == "受理"
    assert display("large_industry", field(ServicePoint, "customer_class")) == "大工业"
    assert display("unknown_code", field(WorkOrder, "status")) == "unknown_code"  # never hidden


def test_a_field_without_choices_uses_the_choices_its_model_declares() -> None:
    assert display("breached", field(WorkOrder, "sla_state")) == "超期"
    registers = display(["active_total", "active_peak"], field(Meter, "registers"))
    assert "active_total" not in registers and "、" in registers


def test_money_has_thousands_separators_two_decimals_and_the_currency() -> None:
    assert money(Decimal("1234.5")) == "1,234.50 元"
    assert money(0) == "0.00 元"
    assert display(Decimal("1234567.891")) == "1,234,567.89"


def test_quantities_carry_their_unit() -> None:
    assert with_unit(Decimal("12500.00"), "kWh") == "12,500.00 kWh"
    assert with_unit(315, "kVA") == "315 kVA"


def test_durations_read_in_hours_or_working_days() -> None:
    assert duration(1440) == "24 小时"
    assert duration(90) == "1 小时 30 分钟"
    assert duration(45) == "45 分钟"
    assert duration(3, working_days=True) == "3 个工作日"
    with translation.override("en"):
        assert duration(60) == "1 hour"
        assert duration(1, working_days=True) == "1 working day"


def test_an_sla_limit_reads_by_its_clock() -> None:
    elapsed = SLAPolicy(order_type="fault", milestone="arrival", clock=ClockKind.ELAPSED, amount=1440)
    working = SLAPolicy(order_type="complaint", milestone="answer", clock=ClockKind.WORKING, amount=3)
    assert field_display(elapsed, "amount") == "24 小时"
    assert field_display(working, "amount") == "3 个工作日"
    assert field_display(elapsed, "warn_ratio") == "80.0 %"


def test_ratios_read_as_percentages() -> None:
    assert ratio(Decimal("0.95")) == "95.0 %"
    assert ratio(0.8) == "80.0 %"
    assert with_unit(800, "permille") == "80.0 %"


def test_datetimes_read_in_shanghai_time() -> None:
    utc = dt.datetime(2026, 12, 3, 2, 15, tzinfo=dt.UTC)
    assert display(utc) == "2026-12-03 10:15"
    assert display(dt.date(2026, 1, 5)) == "2026-01-05"


def test_dicts_and_lists_never_show_python_syntax() -> None:
    text = display({"load": 0.5, "steps": ["a", "b"], "none": None})
    assert "{" not in text and "[" not in text and "None" not in text
    assert text == "load：0.5；steps：a、b；none：—"
    assert display([]) == "—"


def test_a_related_object_reads_as_its_name() -> None:
    unit = OrgUnit(code="CG", name="城关供电所", kind="station")
    assert display(unit) == str(unit)


@pytest.mark.django_db
def test_a_list_column_shows_labels_and_excel_keeps_numbers(org) -> None:
    order = WorkOrder(status="accepted", sla_state="warning")
    assert Column("status", "status").value(order) == "受理"
    assert Column("sla", "sla_state").value(order) == "临近超时"
    policy = SLAPolicy(order_type="fault", milestone="arrival", clock=ClockKind.ELAPSED, amount=45)
    assert Column("limit", "amount").value(policy) == "45 分钟"
    assert Column("limit", "amount").export(policy) == 45
    assert Column("status", "status").export(order) == "受理"
    assert Column("computed", lambda row: 0.25, unit="ratio").value(order) == "25.0 %"


def test_export_values_keep_numbers_and_dates_and_drop_dashes() -> None:
    assert export_value(Decimal("1.50")) == Decimal("1.50")
    assert export_value(dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
    assert export_value(None) is None
    assert export_value(True) == "是"


def test_an_audit_row_reads_field_by_field_with_verbose_names_and_labels() -> None:
    entry = AuditEntry(
        action="service.dispatch",
        object_type="service.workorder",
        object_id="1",
        before={"status": "accepted", "due_at": None},
        after={"status": "dispatched", "due_at": "2026-12-03T02:15:00+00:00"},
    )
    changes = audit_changes(entry)
    assert [(c.label, c.before, c.after) for c in changes] == [
        ("状态", "受理", "已派发"),
        (str(field(WorkOrder, "due_at").verbose_name), "—", "2026-12-03 10:15"),
    ]


def test_an_audit_row_of_no_model_still_reads_without_python_syntax() -> None:
    entry = AuditEntry(
        action="org.load_catalogue", object_type="org.position", object_id="*", after={"count": 3}
    )
    assert [(c.label, c.before, c.after) for c in audit_changes(entry)] == [("数量", "—", "3")]


@pytest.mark.django_db
def test_a_proposed_position_change_reads_with_names_not_codes(org) -> None:
    from gridcare.org.models import PermissionCode, Position
    from gridcare.web.display import field_changes

    permission = PermissionCode.objects.get(code="audit.view")
    changes = field_changes(
        Position, {"data_scope": "own"}, {"data_scope": "subtree", "permissions": ["audit.view"]}
    )
    text = " ".join(f"{c.label} {c.before} {c.after}" for c in changes)
    assert "own" not in text and "subtree" not in text and "audit.view" not in text
    assert permission.name in text


@pytest.mark.django_db
def test_the_403_page_names_the_permission_in_words(client, staff) -> None:
    from gridcare.org.models import PermissionCode

    client.force_login(staff("cs_rep"))
    page = client.get("/system/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 403
    text = page.content.decode()
    assert PermissionCode.objects.get(code="audit.view").name in text
    assert "audit.view" not in text and "permission required" not in text
