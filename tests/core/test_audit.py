"""Every write through an action leaves an audit row in the same transaction — and none when it rolls back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from gridcare.core import audit
from gridcare.core.actions import UnauditedActionError, action
from gridcare.core.context import origin
from gridcare.core.models import AuditEntry, ImmutableRecordError
from gridcare.org import actions
from gridcare.org.models import OrgUnit


def test_action_writes_audit_row_with_actor_object_before_after_and_job(staff) -> None:
    admin = staff("admin")
    unit = OrgUnit.objects.get(code="CG")
    with origin(job_id="job-42"):
        actions.do_update_unit(admin, unit, name="城关中心供电所")
    entry = AuditEntry.objects.filter(action="org.update_unit", object_id=str(unit.pk)).latest("id")
    assert entry.actor == admin
    assert entry.object_type == "org.orgunit"
    assert entry.before == {"name": "城关供电所"}
    assert entry.after == {"name": "城关中心供电所"}
    assert entry.job_id == "job-42"


def test_rolled_back_action_leaves_no_audit_row_and_no_change(staff) -> None:
    admin = staff("admin")
    before_rows = AuditEntry.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        actions.do_create_unit(
            admin, code="TMP", name="临时", kind="team", parent=OrgUnit.objects.get(code="GC")
        )
        raise Boom
    assert AuditEntry.objects.count() == before_rows
    assert not OrgUnit.objects.filter(code="TMP").exists()


def test_failing_action_rolls_back_its_own_audit_row(staff) -> None:
    """An action that fails after auditing leaves neither the change nor the row."""

    @action("test.fail_after_audit", permission=None)
    def do_fail(actor, unit):
        unit.name = "改了"
        unit.save()
        audit.record(actor, "test.fail_after_audit", unit)
        raise ValueError("later step failed")

    unit = OrgUnit.objects.get(code="HX")
    rows = AuditEntry.objects.count()
    with pytest.raises(ValueError):
        do_fail(staff("admin"), unit)
    assert AuditEntry.objects.count() == rows
    assert OrgUnit.objects.get(code="HX").name == "河西供电所"


def test_action_that_forgets_to_audit_is_refused_and_rolled_back(staff) -> None:
    @action("test.unaudited", permission=None)
    def do_sneaky(actor, unit):
        unit.name = "偷改"
        unit.save()

    with pytest.raises(UnauditedActionError):
        do_sneaky(staff("admin"), OrgUnit.objects.get(code="SN"))
    assert OrgUnit.objects.get(code="SN").name == "山南县公司"


def test_api_write_records_request_id(api) -> None:
    response = api("admin").post(
        "/api/org/units/",
        {"code": "NEW1", "name": "新班组", "kind": "team", "parent": OrgUnit.objects.get(code="GC").pk},
        format="json",
        HTTP_X_REQUEST_ID="req-abc-123",
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "req-abc-123"
    entry = AuditEntry.objects.get(action="org.create_unit", object_id=str(response.data["id"]))
    assert entry.request_id == "req-abc-123"
    assert entry.after["path"] == "/GC/NEW1/"


def test_audit_entries_are_immutable(staff) -> None:
    entry = AuditEntry.objects.first()
    entry.note = "tampered"
    with pytest.raises(ImmutableRecordError):
        entry.save()
    with pytest.raises(ImmutableRecordError):
        entry.delete()


def test_audit_log_api_filters_by_person_action_and_object(api, staff) -> None:
    admin = staff("admin")
    unit = OrgUnit.objects.get(code="CG")
    actions.do_update_unit(admin, unit, name="城关所")
    response = api("auditor").get(
        "/api/audit/",
        {"actor": admin.pk, "action": "org.update", "object_type": "org.orgunit", "object_id": unit.pk},
    )
    assert response.status_code == 200
    results = response.data["results"]
    assert [r["after"] for r in results] == [{"name": "城关所"}]


def test_audit_log_api_refused_without_permission(api) -> None:
    assert api("cs_rep").get("/api/audit/").status_code == 403


@pytest.mark.parametrize("count", [2, audit.COPY_THRESHOLD + 1])
def test_bulk_rows_are_stored_alike_whether_few_or_many(staff, count: int) -> None:
    """A few rows go through one prepared statement, more through COPY (PostgreSQL): the same rows either way."""
    admin = staff("admin")
    unit = OrgUnit.objects.get(code="GC")
    rows = [
        {
            "object_type": "org.orgunit",
            "object_id": unit.pk,
            "object_repr": f"供电单位 {i}",
            "after": {"name": f"名称 {i}", "amount": Decimal("12.30"), "day": dt.date(2026, 12, 5)},
            "request_id": f"req-{count}-{i}",
        }
        for i in range(count)
    ]
    with origin(request_id="outer", job_id="job-1"), transaction.atomic():
        assert audit.bulk_record(admin, "org.bulk_test", rows) == count
    stored = list(
        AuditEntry.objects.filter(action="org.bulk_test").order_by("request_id").values(
            "actor_id", "actor_name", "object_type", "object_id", "object_repr", "before", "after", "request_id",
            "job_id", "note",
        )
    )  # fmt: skip
    assert stored == [
        {
            "actor_id": admin.pk,
            "actor_name": admin.display_name,
            "object_type": "org.orgunit",
            "object_id": str(unit.pk),
            "object_repr": f"供电单位 {i}",
            "before": None,
            "after": {"name": f"名称 {i}", "amount": "12.30", "day": "2026-12-05"},
            "request_id": f"req-{count}-{i}",
            "job_id": "job-1",
            "note": "",
        }
        for i in range(count)
    ]
