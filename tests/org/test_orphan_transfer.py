"""Orphan transfer (孤儿客户转接): when staff leave, nothing they own is left without an owner."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.core.errors import InvalidInput
from gridcare.core.models import AuditEntry
from gridcare.core.ownership import count_owned, register_owned
from gridcare.org import actions
from gridcare.org.models import OrgUnit, User


def test_leaver_hands_everything_to_named_successor(staff) -> None:
    leaver, successor = staff("key_account"), staff("sales")
    owned_before = OrgUnit.objects.filter(head=leaver).count()
    assert owned_before == 1

    actions.do_staff_leave(staff("admin"), leaver, successor=successor, left_on=dt.date(2026, 11, 30))

    assert all(n == 0 for n in count_owned(leaver).values())
    assert OrgUnit.objects.get(code="DKH").head == successor
    leaver.refresh_from_db()
    assert (leaver.is_active, leaver.left_on, leaver.successor) == (False, dt.date(2026, 11, 30), successor)
    moved = AuditEntry.objects.filter(action="org.transfer_owned", object_type="org.orgunit")
    assert [(e.before, e.after) for e in moved] == [({"head": leaver.pk}, {"head": successor.pk})]


def test_without_successor_records_go_to_the_supervisors_queue(staff) -> None:
    """The head of the unit above (营销服务部 → manager) receives what the centre head owned."""
    actions.do_staff_leave(staff("admin"), staff("cs_supervisor"))
    assert OrgUnit.objects.get(code="KF").head == staff("manager")


def test_every_registered_owner_field_is_transferred(staff) -> None:
    """A second owner-bearing field (here: staff successor links) moves in the same transaction."""
    register_owned(User, "successor", label="test: successor link")
    try:
        leaver = staff("cg_rep")
        other = staff("hx_rep")
        User.objects.filter(pk=other.pk).update(successor=leaver)
        actions.do_staff_leave(staff("admin"), leaver)
        other.refresh_from_db()
        assert other.successor == staff("cg_head")
        assert all(n == 0 for n in count_owned(leaver).values())
    finally:
        from gridcare.core import ownership

        ownership._REGISTRY.pop("org.user.successor")


def test_no_supervisor_and_no_successor_is_refused_and_changes_nothing(staff) -> None:
    vp = staff("vp")
    with pytest.raises(InvalidInput) as refused:
        actions.do_staff_leave(staff("admin"), vp)
    assert "successor" in refused.value.errors
    vp.refresh_from_db()
    assert vp.is_active and vp.left_on is None
    assert OrgUnit.objects.get(code="GC").head == vp


def test_successor_must_be_active_and_not_the_leaver(staff) -> None:
    leaver = staff("metering")
    with pytest.raises(InvalidInput):
        actions.do_staff_leave(staff("admin"), leaver, successor=leaver)
    gone = staff("load")
    actions.do_staff_leave(staff("admin"), gone, successor=staff("manager"))
    with pytest.raises(InvalidInput) as refused:
        actions.do_staff_leave(staff("admin"), leaver, successor=staff("load"))
    assert "successor" in refused.value.errors
    assert OrgUnit.objects.get(code="JL").head == leaver


def test_leave_through_api(api, staff) -> None:
    response = api("admin").post(
        f"/api/org/staff/{staff('auditor').pk}/leave/", {"successor": staff("manager").pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.data["is_active"] is False
    assert OrgUnit.objects.get(code="JC").head == staff("manager")


def test_leaver_cannot_sign_in_with_token_any_more(api, staff) -> None:
    client = api("cg_reader")
    assert client.get("/api/org/units/").status_code == 200
    actions.do_staff_leave(staff("admin"), staff("cg_reader"))
    assert client.get("/api/org/units/").status_code == 401
