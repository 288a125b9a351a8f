"""Monthly reports: every figure equals a count taken directly from the data; Excel and PDF render; the command
and the Celery beat entry on the 28th."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command

from gridcare.service import actions, reports
from gridcare.service.choices import SUB_TYPES
from gridcare.service.models import Callback, ServiceFee, SLAClock, WorkOrder
from gridcare.service.selectors import complaint_report, month_bounds, repair_report, work_report
from tests.service.conftest import STATION_DESK, sh


@pytest.fixture
def october(staff, place):
    """A small October 2026 with complaints, repairs (one late), a repeat call, callbacks and a fee."""
    rep, head = staff("cs_rep"), staff("cg_head")
    for day, sub_type, station in [
        (8, "service", "CG"),
        (9, "service", "HX"),
        (12, "outage", "CG"),
        (20, "business", "SNS"),
    ]:
        desk = staff(STATION_DESK[station])  # the station's desk: intake resolves within its data scope
        order = actions.do_create_order(
            desk,
            order_type="complaint",
            sub_type=sub_type,
            service_point=place(station).pk,
            at=sh(2026, 10, day, 10),
            auto_dispatch=False,
        )
        if day < 15:
            actions.do_reply(
                desk,
                order,
                result="已处理",
                cause="staff_conduct" if sub_type == "service" else "outage",
                at=sh(2026, 10, day, 15),
            )
            actions.do_callback(
                desk,
                order,
                satisfaction=5 if day != 9 else 2,
                reason="慢",
                on_unsatisfied="escalate",
                at=sh(2026, 10, day, 16),
            )
    repairs = [
        actions.do_create_order(
            staff("cg_rep"),
            order_type="repair",
            service_point=place("CG").pk,
            area_text=f"城关线{minute}",
            at=sh(2026, 10, 21, 9, minute),
        )
        for minute in (0, 10)
    ]
    actions.do_create_order(
        staff("cg_rep"),
        order_type="repair",
        service_point=place("CG").pk,
        area_text="城关线10",
        at=sh(2026, 10, 21, 9, 40),
    )
    for order, arrive_after in zip(repairs, (30, 80), strict=True):
        actions.do_take(head, order, at=sh(2026, 10, 21, 9, 20))
        actions.do_arrive(head, order, at=order.created_at + dt.timedelta(minutes=arrive_after))
        actions.do_restore(head, order, at=sh(2026, 10, 21, 12))
        actions.do_record_fee(head, order, description="上门服务", amount="30.00", at=sh(2026, 10, 21, 12, 5))
        actions.do_reply(head, order, result="恢复", cause="line_fault", at=sh(2026, 10, 21, 12, 30))
    actions.do_create_order(rep, order_type="enquiry", title="九月的", at=sh(2026, 9, 30, 23, 59))
    actions.do_create_order(rep, order_type="enquiry", title="十一月的", at=sh(2026, 11, 1, 0, 0))
    return "2026-10"


def rows(report, title_index: int) -> list[list]:
    return report.sections[title_index].rows


def test_complaint_report_equals_direct_counts(october) -> None:
    report = complaint_report(october)
    start, end = month_bounds(october)
    complaints = WorkOrder.objects.filter(order_type="complaint", created_at__gte=start, created_at__lt=end)
    for row, sub_type in zip(rows(report, 0), SUB_TYPES["complaint"], strict=True):
        subset = complaints.filter(sub_type=sub_type)
        assert row[1] == subset.count()
        assert row[2] == subset.exclude(answered_at=None).count()
        met = SLAClock.objects.filter(order__in=subset, milestone="answer", breached=False).count()
        assert row[4] == met
    assert sum(r[1] for r in rows(report, 1)) == complaints.count() == 4
    assert {r[0]: r[1] for r in rows(report, 1)} == {
        name: complaints.filter(unit__name=name).count()
        for name in complaints.values_list("unit__name", flat=True)
    }
    assert sum(r[1] for r in rows(report, 2)) == complaints.count()
    service_row = rows(report, 0)[0]
    assert service_row[7] == Decimal("3.50")  # satisfaction 5 and 2


def test_repair_report_equals_direct_counts(october) -> None:
    report = repair_report(october)
    start, end = month_bounds(october)
    repairs = WorkOrder.objects.filter(order_type="repair", created_at__gte=start, created_at__lt=end)
    (station,) = rows(report, 0)
    assert station[1] == repairs.filter(master=None).count() == 2
    assert station[2] == repairs.exclude(master=None).count() == 1
    arrivals = SLAClock.objects.filter(order__in=repairs, milestone="arrival", done_at__isnull=False)
    assert station[3] == arrivals.count() == 2
    assert (
        station[4]
        == Decimal("50.0")
        == Decimal(arrivals.filter(breached=False).count() * 100 / arrivals.count())
    )
    fees = rows(report, 3)[0]
    in_month = ServiceFee.objects.filter(recorded_at__gte=start, recorded_at__lt=end)
    assert fees == [in_month.count(), sum(f.amount for f in in_month)] == [2, Decimal("60.00")]


def test_work_report_equals_direct_counts(october) -> None:
    report = work_report(october)
    start, end = month_bounds(october)
    received = {r[0]: r[1] for r in rows(report, 0)}
    assert (
        sum(received.values())
        == WorkOrder.objects.filter(master=None, created_at__gte=start, created_at__lt=end).count()
    )
    assert received["咨询"] == 0  # Sep 30 23:59 and Nov 1 00:00 are outside October (Asia/Shanghai)
    callbacks = rows(report, 2)[0]
    assert callbacks[0] == Callback.objects.filter(at__gte=start, at__lt=end).count() == 3
    assert callbacks[4] == 1  # one unsatisfied callback escalated


def test_excel_pdf_and_command(october, tmp_path) -> None:
    report = complaint_report(october)
    sheet = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(report))).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "客户投诉处理月报表 2026-10" in values
    assert reports.to_pdf(report).startswith(b"%PDF")
    call_command("service_reports", "--month", october, "--out", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"service-{code}-2026-10.{fmt}"
        for code in ("complaints", "repairs", "work")
        for fmt in ("xlsx", "pdf")
    )


def test_beat_schedules_reports_on_the_28th() -> None:
    from celery import current_app

    from gridcare.service.tasks import MONTHLY_REPORTS, beat_schedule

    entry = beat_schedule()["service-monthly-reports"]
    assert entry["task"] == MONTHLY_REPORTS and entry["schedule"].day_of_month == {28}
    assert "service-monthly-reports" in current_app.conf.beat_schedule
