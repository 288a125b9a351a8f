"""The business calendar as the application uses it: official days, data overrides, API and screen."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from gridcare.core import calendar
from gridcare.core.actions import do_set_calendar_override

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_national_day_2026_deadline(org) -> None:
    """A complaint on 2026-09-30 must be answered within 4 working days: Oct 1–7 off, Oct 10 (Sat) works."""
    received = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert calendar.add_working_days(received, 4) == dt.datetime(2026, 10, 13, 0, 0, tzinfo=SHANGHAI)
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    assert not calendar.is_working_day(dt.date(2026, 10, 5))
    assert calendar.working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 12)) == 4


def test_local_holiday_override_moves_the_deadline(staff) -> None:
    received = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    assert calendar.add_working_days(received, 1) == dt.datetime(2026, 12, 3, 0, 0, tzinfo=SHANGHAI)
    do_set_calendar_override(staff("admin"), day=dt.date(2026, 12, 2), is_working_day=False, reason="县庆")
    calendar.forget_calendar()
    assert calendar.add_working_days(received, 1) == dt.datetime(2026, 12, 4, 0, 0, tzinfo=SHANGHAI)


def test_deadline_api(api) -> None:
    response = api("cs_rep").post(
        "/api/calendar/overrides/deadline/",
        {"start": "2025-09-30T15:00:00+08:00", "working_days": 4},
        format="json",
    )
    assert response.status_code == 200
    assert response.data["deadline"] == "2025-10-14T00:00:00+08:00"


def test_deadline_api_bad_input(api) -> None:
    response = api("cs_rep").post(
        "/api/calendar/overrides/deadline/", {"start": "yesterday", "working_days": 0}, format="json"
    )
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"start", "working_days"}


def test_day_api(api) -> None:
    assert (
        api("cs_rep").get("/api/calendar/overrides/day/", {"date": "2026-10-10"}).data["is_working_day"]
        is True
    )
    assert api("cs_rep").get("/api/calendar/overrides/day/", {"date": "2026-13-01"}).status_code == 400


def test_override_without_reason_refused(api) -> None:
    response = api("admin").post(
        "/api/calendar/overrides/",
        {"day": "2027-02-08", "is_working_day": False, "reason": " "},
        format="json",
    )
    assert response.status_code == 400
    assert "reason" in response.data["errors"]


def test_calendar_screen_warns_for_year_without_official_data(client, staff) -> None:
    client.force_login(staff("admin"))
    page = client.get("/system/calendar/?year=2027")
    assert page.status_code == 200
    assert "2027" in page.content.decode()
    assert page.context["missing_years"] == [2027]
    page = client.get("/system/calendar/?year=2026&start=2026-09-30T10:00&working_days=4")
    assert page.context["deadline"] == dt.datetime(2026, 10, 13, 0, 0, tzinfo=SHANGHAI)
