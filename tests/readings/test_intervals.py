"""15-minute interval data in the application: API and file ingest, meter-day checks, collection rate, aggregates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command

from gridcare.core.models import AuditEntry
from gridcare.readings import interval_selectors as iv
from gridcare.readings.ingest import ingest_files
from gridcare.readings.models import IntervalDay, MeterRead

pytestmark = pytest.mark.django_db

URL = "/api/readings/intervals/"
DAY = dt.date(2026, 11, 10)  # a Tuesday


def quarter(day: dt.date, slot: int) -> str:
    """The local start of quarter-hour ``slot`` of ``day``, with its offset."""
    moment = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=15 * slot)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def full_day(day: dt.date, kwh: Any = "1.25", skip: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    return [{"ts": quarter(day, s), "kwh": str(kwh)} for s in range(96) if s not in skip]


def post(api: Any, user: str, series: list[dict[str, Any]], **headers: Any) -> Any:
    return api(user).post(URL, {"series": series}, format="json", **headers)


# ------------------------------------------------------------------------------------------------ API ingest
def test_api_ingest_answers_counts_rejections_and_meter_day_checks(installed, api):
    """Given a day with two quarter-hours missing and four bad records (unknown meter, future time, negative,
    non-numeric), then the good reads are stored, each bad one is rejected with its reason and position, and the
    meter-day is checked: 94 of 96 received, 2 gaps; one audit row for the batch."""
    meter = installed()
    reads = full_day(DAY, skip=(10, 11))
    reads += [
        {"ts": "2099-01-01T00:00:00+08:00", "kwh": "1"},
        {"ts": quarter(DAY + dt.timedelta(days=1), 0), "kwh": "-2"},
        {"ts": quarter(DAY + dt.timedelta(days=1), 1), "kwh": "abc"},
    ]
    before = AuditEntry.objects.filter(action="readings.ingest_intervals").count()
    response = post(
        api,
        "system",
        [{"meter": meter.asset_no, "reads": reads}, {"meter": "NOPE", "reads": full_day(DAY)[:2]}],
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["records"] == 94 + 3 + 2 and body["written"] == 94
    reasons = {(r["series"], r["read"]): r["reason"] for r in body["rejected"]}
    assert "future" in reasons[(0, 94)]
    assert "negative" in reasons[(0, 95)]
    assert "not a number" in reasons[(0, 96)]
    assert "Unknown meter" in reasons[(1, 0)] and "Unknown meter" in reasons[(1, 1)]
    day = next(d for d in body["days"] if d["day"] == DAY.isoformat())
    assert (day["received"], day["expected"], day["gaps"], day["collection_rate"]) == (94, 96, 2, "97.9")
    stored = IntervalDay.objects.get(meter=meter, day=DAY)
    assert (stored.received, stored.gaps, stored.collection_rate) == (94, 2, Decimal("97.9"))
    after = AuditEntry.objects.filter(action="readings.ingest_intervals").count()
    assert after == before + 1


def test_api_ingest_fills_gaps_later_and_reports_conflicts_without_overwriting(installed, api):
    meter = installed()
    assert (
        post(api, "system", [{"meter": meter.asset_no, "reads": full_day(DAY, skip=(5,))}]).status_code == 200
    )
    again = post(
        api,
        "system",
        [
            {
                "meter": meter.asset_no,
                "reads": [{"ts": quarter(DAY, 5), "kwh": "1.25"}, {"ts": quarter(DAY, 6), "kwh": "9"}],
            }
        ],
    ).json()
    assert again["written"] == 1
    assert (again["conflicts"][0]["kwh"], again["conflicts"][0]["other_kwh"]) == ("9.000", "1.250")
    stored = IntervalDay.objects.get(meter=meter, day=DAY)
    assert (stored.received, stored.gaps, stored.conflicts) == (96, 0, 1)
    assert iv.daily_kwh(meter.service_point.account_id, "2026-11") == [(DAY, Decimal("120.000"))]


def test_api_ingest_bad_batch_shape_is_400_and_writes_nothing(installed, api):
    installed()
    for body in ({}, {"series": []}, {"series": [{"meter": "X"}]}, {"series": "x"}):
        response = api("system").post(URL, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["code"]
    assert not IntervalDay.objects.exists()


def test_api_ingest_meter_outside_write_scope_is_unknown(installed, api):
    """A reader of another station (河西) cannot send data for a 城关 meter: it does not exist for them."""
    meter = installed()
    response = post(api, "reader", [{"meter": meter.asset_no, "reads": full_day(DAY)[:4]}])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["written"] == 0 and all("Unknown meter" in r["reason"] for r in body["rejected"])
    assert not IntervalDay.objects.exists()


def test_api_ingest_needs_reading_enter(installed, api):
    meter = installed()
    response = post(api, "load", [{"meter": meter.asset_no, "reads": full_day(DAY)[:4]}])
    assert response.status_code == 403


def test_api_ingest_idempotency_key_replays_the_first_answer(installed, api):
    meter = installed()
    series = [{"meter": meter.asset_no, "reads": full_day(DAY)}]
    first = post(api, "system", series, HTTP_IDEMPOTENCY_KEY="iv-1")
    second = post(api, "system", series, HTTP_IDEMPOTENCY_KEY="iv-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert AuditEntry.objects.filter(action="readings.ingest_intervals").count() == 1
    # without the key, a resend is harmless: every read is a duplicate
    third = post(api, "system", series).json()
    assert (third["written"], third["duplicates"]) == (0, 96)
    assert IntervalDay.objects.get(meter=meter, day=DAY).received == 96


def test_interval_days_list_is_scoped(installed, api):
    meter = installed()
    post(api, "system", [{"meter": meter.asset_no, "reads": full_day(DAY, skip=(0,))}])
    seen = api("load").get("/api/readings/interval-days/?problem=gaps").json()
    assert [d["meter_asset_no"] for d in seen["results"]] == [meter.asset_no]
    assert seen["results"][0]["gaps"] == 1
    assert api("load").get("/api/readings/interval-days/?problem=spikes").json()["count"] == 0
    assert (
        api("key_account").get("/api/readings/interval-days/").json()["count"] == 0
    )  # not one of its accounts


# ------------------------------------------------------------------------------------------------ file ingest
def test_file_ingest_csv_and_parquet_with_summary(installed, system, tmp_path, capsys):
    meter = installed()
    rows = [(meter.asset_no, quarter(DAY, s)[:19].replace("T", " "), "0.5") for s in range(96)]
    csv = tmp_path / "day1.csv"
    pl.DataFrame(rows, schema=["meter", "ts", "kwh"], orient="row").write_csv(csv)
    nxt = DAY + dt.timedelta(days=1)
    parquet = tmp_path / "day2.parquet"
    pl.DataFrame(
        {
            "电能表资产号": [meter.asset_no] * 96,
            "数据时间": [
                dt.datetime.combine(nxt, dt.time()) + dt.timedelta(minutes=15 * s) for s in range(96)
            ],
            "电量": [0.25] * 95 + [-1.0],
        }
    ).write_parquet(parquet)
    summaries = ingest_files(system, [csv, parquet], progress=False)
    assert [s.kind for s in summaries] == ["intervals", "intervals"]
    assert summaries[0].counts["written"] == 96 and summaries[1].counts["written"] == 95
    assert "negative" in summaries[1].problems[0] and "第 96 行" in summaries[1].problems[0]  # its row
    assert iv.daily_kwh(meter.service_point.account_id, "2026-11") == [
        (DAY, Decimal("48.000")),
        (nxt, Decimal("23.750")),
    ]
    call_command("readings", "ingest", str(csv), "--no-progress")
    assert "duplicates 96" in capsys.readouterr().out


def test_file_of_register_reads_goes_to_the_register_import(installed, system, tmp_path):
    meter = installed()
    sheet = tmp_path / "reads.csv"
    sheet.write_text(
        f"电能表资产号,计度器,抄表时间,示数\n{meter.asset_no},active_total,2026-11-15 10:00,12.5\n",
        encoding="utf-8",
    )
    (summary,) = ingest_files(system, [sheet], progress=False)
    assert summary.kind == "register_reads"
    assert MeterRead.objects.get(meter=meter).value == Decimal("12.5")


def test_file_that_is_neither_is_reported(system, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    (summary,) = ingest_files(system, [odd, tmp_path / "missing.csv"][:1], progress=False)
    assert summary.kind == "unreadable" and "Neither" in summary.problems[0]
