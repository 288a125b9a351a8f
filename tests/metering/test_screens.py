"""Metering screens: meter detail, install / remove forms with reads (errors on the form, nothing written),
plan and overdue lists with Excel export."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from django.utils import timezone

from gridcare.metering.models import Installation, Meter


def test_install_and_remove_through_the_forms(client, staff, make_point, make_meter, counts) -> None:
    point = make_point("CG")
    meter = make_meter()
    client.force_login(staff("metering"))
    assert client.get(f"/metering/meters/{meter.pk}/").status_code == 200
    form = {"service_point": point.number, "installed_on": "2026-02-01", "reason": "new"}
    before = counts(Meter, Installation)
    missing = client.post(f"/metering/meters/{meter.pk}/install/", form)
    assert missing.status_code == 400 and "有功总" in missing.content.decode()
    assert counts(Meter, Installation) == before
    done = client.post(f"/metering/meters/{meter.pk}/install/", {**form, "initial_active_total": "3"})
    assert done.status_code == 302
    page = client.get(f"/metering/meters/{meter.pk}/").content.decode()
    assert point.number in page and 'id="remove"' in page
    no_final = client.post(
        f"/metering/meters/{meter.pk}/remove/", {"removed_on": "2026-03-01", "reason": "close"}
    )
    assert no_final.status_code == 400
    assert (
        client.post(
            f"/metering/meters/{meter.pk}/remove/",
            {"removed_on": "2026-03-01", "reason": "close", "final_active_total": "30"},
        ).status_code
        == 302
    )
    assert Meter.objects.get(pk=meter.pk).status == "removed"


def test_overdue_screen_and_export(client, staff, make_point, make_meter, system) -> None:
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
    client.force_login(staff("metering"))
    page = client.get("/metering/overdue/")
    assert [obj.asset_no for obj, _values in page.context["rows"]] == [late.asset_no]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/metering/overdue/", {"export": "xlsx"}).content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "资产编号" and rows[1][0] == late.asset_no
    assert client.get("/metering/meters/new/").status_code == 200
    client.force_login(staff("cg_rep"))
    assert client.get("/metering/meters/new/").status_code == 403


def test_meter_and_installation_lists_show_the_address_under_用电地址(
    client, staff, make_point, make_meter, system
) -> None:
    """The column headed 用电地址 holds the address; the number has its own column, 用电地址编号."""
    from gridcare.metering.actions import do_install_meter

    point = make_point("CG")
    meter = make_meter()
    do_install_meter(
        system, meter, point, installed_on=timezone.localdate(), initial_reads={"active_total": 0}
    )
    client.force_login(staff("metering"))
    for url in ("/metering/meters/", "/metering/installations/"):
        page = client.get(url)
        headers = [str(column.label) for column in page.context["columns"]]
        [row] = [cells for _obj, cells in page.context["rows"]]
        values = dict(zip(headers, row, strict=True))
        assert values["用电地址"] == point.address, url
        assert values["用电地址编号"] == point.number, url
