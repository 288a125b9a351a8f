"""The metering REST API: register, install, remove (final reads required), replace, test, status, installations,
the plan and the overdue list — with scope and permission checks."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from gridcare.core.models import AuditEntry
from gridcare.metering.models import Installation, InstallationRead, Meter
from gridcare.org.models import OrgUnit


def _register(client, asset: str, **extra):
    payload = {
        "asset_no": asset,
        "barcode": f"B{asset}",
        "manufacturer": "华立科技",
        "model_code": "DTZY285",
        "accuracy_class": "2",
        "phases": 1,
        "rated_current": "5(60)A",
        "org_unit": OrgUnit.objects.get(code="JL").pk,
        "verified_on": "2026-01-02",
        **extra,
    }
    return client.post("/api/metering/meters/", payload, format="json")


def test_meter_lifecycle_through_the_api(api, make_point, counts) -> None:
    client = api("metering")
    point = make_point("HX")
    created = _register(client, "A0001")
    assert created.status_code == 201, created.content
    meter_id = created.data["id"]
    assert _register(client, "A0001").status_code == 400  # duplicate asset number
    installed = client.post(
        f"/api/metering/meters/{meter_id}/install/",
        {"service_point": point.pk, "installed_on": "2026-02-01", "initial_reads": {"active_total": "10"}},
        format="json",
    )
    assert installed.status_code == 200, installed.content
    assert installed.data["reads"] == [{"event": "install", "register": "active_total", "value": "10.00"}]
    again = client.post(
        f"/api/metering/meters/{meter_id}/install/",
        {"service_point": point.pk, "installed_on": "2026-02-02", "initial_reads": {"active_total": "10"}},
        format="json",
    )
    assert again.status_code == 400 and "meter" in again.data["errors"]
    before = counts(Meter, Installation, InstallationRead)
    no_reads = client.post(
        f"/api/metering/meters/{meter_id}/remove/", {"removed_on": "2026-03-01"}, format="json"
    )
    assert no_reads.status_code == 400 and "final_reads.active_total" in no_reads.data["errors"]
    assert counts(Meter, Installation, InstallationRead) == before
    new = _register(client, "A0002").data["id"]
    replaced = client.post(
        f"/api/metering/meters/{meter_id}/replace/",
        {
            "new_meter": new,
            "replaced_on": "2026-03-01",
            "final_reads": {"active_total": "99"},
            "initial_reads": {"active_total": "0"},
        },
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    history = client.get("/api/metering/installations/", {"service_point": point.pk}).data["results"]
    assert [(h["meter_asset_no"], h["removed_on"]) for h in history] == [
        ("A0002", None),
        ("A0001", "2026-03-01"),
    ]
    assert (
        client.get(
            "/api/metering/installations/", {"open": "true", "account_number": point.account.number}
        ).data["count"]
        == 1
    )
    tested = client.post(
        f"/api/metering/meters/{new}/test/", {"tested_on": "2026-03-10", "result": "passed"}, format="json"
    )
    assert tested.status_code == 200 and tested.data["last_tested_on"] == "2026-03-10"
    status = client.post(
        f"/api/metering/meters/{meter_id}/status/",
        {"status": "under_test", "reason": "拆回送检"},
        format="json",
    )
    assert status.status_code == 200 and status.data["status"] == "under_test"
    wrong = client.post(f"/api/metering/meters/{meter_id}/status/", {"status": "installed"}, format="json")
    assert wrong.status_code == 409
    assert AuditEntry.objects.filter(action__startswith="metering.").count() >= 6


def test_overdue_and_plan_endpoints(api, make_point, make_meter, system) -> None:
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
    soon = make_meter(verified_on=today - dt.timedelta(days=10))
    do_install_meter(
        system,
        soon,
        make_point("CG"),
        installed_on=today - dt.timedelta(days=5),
        initial_reads={"active_total": 0},
    )
    client = api("metering")
    overdue = client.get("/api/metering/meters/overdue/").data
    assert [m["asset_no"] for m in overdue["results"]] == [late.asset_no]
    window = {"start": str(today), "end": str(today + dt.timedelta(days=40))}
    assert [m["asset_no"] for m in client.get("/api/metering/meters/plan/", window).data["results"]] == [
        soon.asset_no
    ]
    assert client.get("/api/metering/meters/plan/").status_code == 400
    assert client.get("/api/metering/meters/", {"overdue": "true"}).data["count"] == 1


def test_meter_permissions_and_scope(api, make_point, make_meter, system) -> None:
    from gridcare.metering.actions import do_install_meter

    meter = make_meter()
    do_install_meter(
        system, meter, make_point("HX"), installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    assert _register(api("cg_rep"), "X9").status_code == 403  # meter.view but not meter.manage
    assert api("cg_rep").get(f"/api/metering/meters/{meter.pk}/").status_code == 404  # installed at 河西
    assert api("hx_rep").get(f"/api/metering/meters/{meter.pk}/").status_code == 200
    assert api("collector").get("/api/metering/meters/").status_code == 403  # no meter.view
