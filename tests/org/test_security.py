"""Issue #9, defects 1 and 2: no privilege escalation through positions, four-eyes on administrator positions,
no self-lockout, and the ``is_active`` 500 on unit creation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gridcare.core.errors import Conflict, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.org import actions
from gridcare.org.models import AuthorityLimit, OrgUnit, Position, PositionChangeRequest, User
from gridcare.org.selectors import active_administrators, system_actor


@pytest.fixture
def counts() -> Callable[[], tuple[int, int, int, int]]:
    def snapshot() -> tuple[int, int, int, int]:
        return (
            User.objects.count(),
            AuditEntry.objects.count(),
            PositionChangeRequest.objects.count(),
            AuthorityLimit.objects.count(),
        )

    return snapshot


def codes(position: Position) -> list[str]:
    return sorted(position.permissions.values_list("code", flat=True))


def second_admin(username: str = "admin2") -> User:
    """Another system administrator, created by the system actor (a superuser)."""
    return actions.do_create_staff(
        system_actor(),
        username=username,
        password="second-admin-pass",
        full_name="第二管理员",
        position=Position.objects.get(code="system_admin"),
        org_unit=OrgUnit.objects.get(code="XX"),
    )


def staff_payload(position: str, username: str = "mole") -> dict[str, Any]:
    return {
        "username": username,
        "full_name": "某人",
        "password": "a-long-password-1",
        "position": Position.objects.get(code=position).pk,
        "org_unit": OrgUnit.objects.get(code="YX").pk,
    }


# --- defect 1: privilege escalation ---------------------------------------------------------------------------


def test_department_manager_cannot_create_a_system_administrator(api, counts) -> None:
    # given the department manager, who holds org.manage_staff but not org.manage_positions
    before = counts()
    # when he creates a staff member with the system administrator's position
    response = api("manager").post("/api/org/staff/", staff_payload("system_admin"), format="json")
    # then he is refused, naming the permissions he lacks, and nothing is written
    assert response.status_code == 403, response.content
    assert "org.manage_positions" in response.data["detail"]
    assert counts() == before
    assert not User.objects.filter(username="mole").exists()


def test_manager_may_hand_out_a_position_within_his_own_permissions(api) -> None:
    # the vice president's permissions are all held by the department manager
    response = api("manager").post("/api/org/staff/", staff_payload("vp_marketing"), format="json")
    assert response.status_code == 201, response.content


def test_manager_cannot_promote_existing_staff_to_administrator(api, staff, counts) -> None:
    before = counts()
    target = staff("cs_rep")
    response = api("manager").patch(
        f"/api/org/staff/{target.pk}/",
        {"position": Position.objects.get(code="system_admin").pk},
        format="json",
    )
    assert response.status_code == 403, response.content
    assert counts() == before
    assert staff("cs_rep").position.code == "service_rep"


def test_administrator_cannot_add_a_permission_he_does_not_hold(api, counts) -> None:
    # given the system administrator, who holds no billing permission
    collector = Position.objects.get(code="collector")
    kept = codes(collector)
    before = counts()
    # when he adds billing.release to the collector's position
    response = api("admin").patch(
        f"/api/org/positions/{collector.pk}/", {"permissions": [*kept, "billing.release"]}, format="json"
    )
    # then 403 naming the permission; the position is unchanged
    assert response.status_code == 403, response.content
    assert "billing.release" in response.data["detail"]
    assert codes(collector) == kept
    assert counts() == before


def test_administrator_may_remove_permissions_and_the_change_is_audited_with_before_and_after(api) -> None:
    collector = Position.objects.get(code="collector")
    kept = [c for c in codes(collector) if c != "arrears.dun"]
    response = api("admin").patch(f"/api/org/positions/{collector.pk}/", {"permissions": kept}, format="json")
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.filter(action="org.update_position", object_id=str(collector.pk)).latest("pk")
    assert "arrears.dun" in entry.before["permissions"]
    assert "arrears.dun" not in entry.after["permissions"]


def test_screen_refuses_escalation_too(client, staff) -> None:
    client.force_login(staff("manager"))
    before = User.objects.count()
    payload = {**staff_payload("system_admin", "screenmole"), "employee_no": "", "phone": "", "email": ""}
    response = client.post("/org/staff/new/", payload)
    # the form does not even offer the position: refused as an invalid choice of the position field
    assert response.status_code == 400
    assert "position" in response.context["form"].errors
    assert User.objects.count() == before


def test_staff_form_offers_only_positions_the_actor_may_hand_out(client, staff) -> None:
    client.force_login(staff("manager"))
    form = client.get("/org/staff/new/").context["form"]
    offered = set(form.fields["position"].queryset.values_list("code", flat=True))
    assert "marketing_manager" in offered and "vp_marketing" in offered
    assert "system_admin" not in offered and "service_rep" not in offered


def test_catalogue_import_by_an_administrator_cannot_grant_what_he_lacks(staff) -> None:
    catalogue = {
        "permissions": [],
        "limit_types": [],
        "positions": [
            {
                "code": "collector",
                "name": "收费员",
                "level": "execution",
                "data_scope": "unit",
                "permissions": ["billing.release"],
            }
        ],
    }
    with pytest.raises(PermissionRefused):
        actions.do_load_catalogue(staff("admin"), catalogue)
    assert "billing.release" not in codes(Position.objects.get(code="collector"))


# --- four-eyes on the administrator's own position -------------------------------------------------------------


def test_change_of_administrator_position_waits_for_a_second_administrator(api, staff) -> None:
    # given two administrators
    other = second_admin()
    position = Position.objects.get(code="system_admin")
    before_codes = codes(position)
    # when the first removes calendar.manage from their own position
    proposed = api("admin").patch(
        f"/api/org/positions/{position.pk}/",
        {"permissions": [c for c in before_codes if c != "calendar.manage"]},
        format="json",
    )
    # then it is only proposed: 202 with a pending request, nothing changed yet
    assert proposed.status_code == 202, proposed.content
    assert proposed.data["status"] == "pending"
    assert codes(position) == before_codes
    request_id = proposed.data["id"]
    # the proposer cannot approve their own request
    own = api("admin").post(f"/api/org/position-changes/{request_id}/approve/", {}, format="json")
    assert own.status_code == 403
    assert codes(position) == before_codes
    # a non-administrator cannot even see the requests
    assert api("manager").post(f"/api/org/position-changes/{request_id}/approve/", {}).status_code == 403
    # the second administrator approves: now it applies, audited with before/after
    token_client = api(other.username)
    approved = token_client.post(f"/api/org/position-changes/{request_id}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.data["status"] == "approved"
    assert "calendar.manage" not in codes(position)
    entry = AuditEntry.objects.filter(action="org.update_position", object_id=str(position.pk)).latest("pk")
    assert entry.actor_id == other.pk
    assert "calendar.manage" in entry.before["permissions"]
    assert AuditEntry.objects.filter(action="org.propose_position_change").exists()
    assert AuditEntry.objects.filter(action="org.approve_position_change").exists()
    # a decided request cannot be decided again
    again = token_client.post(f"/api/org/position-changes/{request_id}/reject/", {}, format="json")
    assert again.status_code == 409


def test_rejected_change_never_applies(api) -> None:
    other = second_admin()
    position = Position.objects.get(code="system_admin")
    proposed = api("admin").patch(f"/api/org/positions/{position.pk}/", {"data_scope": "unit"}, format="json")
    assert proposed.status_code == 202
    rejected = api(other.username).post(
        f"/api/org/position-changes/{proposed.data['id']}/reject/", {"reason": "不同意"}, format="json"
    )
    assert rejected.status_code == 200 and rejected.data["status"] == "rejected"
    position.refresh_from_db()
    assert position.data_scope == "company"


def test_limit_of_administrator_position_waits_for_a_second_administrator(api) -> None:
    other = second_admin()
    position = Position.objects.get(code="system_admin")
    proposed = api("admin").post(
        f"/api/org/positions/{position.pk}/limits/",
        {"limit_type": "writeoff_amount", "amount": "9999"},
        format="json",
    )
    assert proposed.status_code == 202, proposed.content
    assert not AuthorityLimit.objects.filter(position=position, limit_type__code="writeoff_amount").exists()
    approved = api(other.username).post(f"/api/org/position-changes/{proposed.data['id']}/approve/", {})
    assert approved.status_code == 200, approved.content
    limit = AuthorityLimit.objects.get(position=position, limit_type__code="writeoff_amount")
    assert str(limit.amount) == "9999.00"


def test_adding_administrator_permissions_to_another_position_is_four_eyes(api) -> None:
    supervisor = Position.objects.get(code="service_supervisor")
    before_codes = codes(supervisor)
    response = api("admin").patch(
        f"/api/org/positions/{supervisor.pk}/",
        {"permissions": [*before_codes, "org.manage_positions", "org.manage_staff"]},
        format="json",
    )
    # the administrator lacks the supervisor's customer/work-order permissions… but adds only org.* ones
    assert response.status_code == 202, response.content
    assert codes(supervisor) == before_codes


def test_position_edit_screen_on_administrator_position_only_proposes(client, staff) -> None:
    second_admin()
    position = Position.objects.get(code="system_admin")
    client.force_login(staff("admin"))
    response = client.post(
        f"/org/positions/{position.pk}/edit/",
        {"data_scope": "unit", "permissions": list(position.permissions.values_list("pk", flat=True))},
    )
    assert response.status_code == 302
    assert response["Location"] == "/org/position-changes/"
    position.refresh_from_db()
    assert position.data_scope == "company"
    assert PositionChangeRequest.objects.filter(position=position, status="pending").count() == 1


def test_empty_change_of_administrator_position_is_not_a_proposal(api) -> None:
    position = Position.objects.get(code="system_admin")
    response = api("admin").patch(f"/api/org/positions/{position.pk}/", {}, format="json")
    assert response.status_code == 200
    assert not PositionChangeRequest.objects.exists()


def test_pending_changes_screen_lists_and_approves(client, staff, api) -> None:
    other = second_admin()
    position = Position.objects.get(code="system_admin")
    proposed = api("admin").patch(
        f"/api/org/positions/{position.pk}/", {"data_scope": "subtree"}, format="json"
    )
    client.force_login(staff("admin"))
    page = client.get("/org/position-changes/")
    assert page.status_code == 200
    assert f'data-change="{proposed.data["id"]}"' in page.content.decode()
    # the proposer's own approval is refused on the screen as well
    assert client.post(f"/org/position-changes/{proposed.data['id']}/approve/").status_code == 403
    position.refresh_from_db()
    assert position.data_scope == "company"
    client.force_login(other)
    response = client.post(f"/org/position-changes/{proposed.data['id']}/approve/")
    assert response.status_code == 302
    position.refresh_from_db()
    assert position.data_scope == "subtree"
    client.force_login(staff("cs_rep"))
    assert client.get("/org/position-changes/").status_code == 403


# --- defect 2: self-lockout ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{"permissions": {}}, {"permissions": {"org.view": True}}, {"permissions": "x"}]
)
def test_permissions_that_are_not_a_list_are_400_and_nothing_wiped(api, counts, body) -> None:
    collector = Position.objects.get(code="collector")
    kept = codes(collector)
    before = counts()
    response = api("admin").patch(f"/api/org/positions/{collector.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert "permissions" in response.data["errors"]
    assert codes(collector) == kept
    assert counts() == before


def test_nobody_hands_themselves_over(api, staff, counts) -> None:
    from rest_framework.authtoken.models import Token

    manager = staff("manager")
    client = api("manager")
    before = counts()
    response = client.post(f"/api/org/staff/{manager.pk}/leave/", {}, format="json")
    assert response.status_code == 409, response.content
    assert counts() == before
    manager.refresh_from_db()
    assert manager.is_active and manager.left_on is None
    assert Token.objects.filter(user=manager).exists()
    assert client.get("/api/org/units/").status_code == 200


def test_last_active_administrator_cannot_leave(staff) -> None:
    assert list(active_administrators()) == [staff("admin")]
    with pytest.raises(Conflict):
        actions.do_staff_leave(system_actor(), staff("admin"), successor=staff("manager"))
    assert staff("admin").is_active


def test_administrator_can_leave_when_another_remains(staff) -> None:
    second_admin()
    actions.do_staff_leave(system_actor(), staff("admin"), successor=staff("manager"))
    assert not staff("admin").is_active


def test_last_active_administrator_cannot_be_moved_to_another_position(api, staff) -> None:
    admin = staff("admin")
    response = api("system").patch(
        f"/api/org/staff/{admin.pk}/", {"position": Position.objects.get(code="auditor").pk}, format="json"
    )
    assert response.status_code == 409, response.content
    assert staff("admin").position.code == "system_admin"


def test_last_administrators_position_cannot_be_stripped(api) -> None:
    position = Position.objects.get(code="system_admin")
    before_codes = codes(position)
    response = api("system").patch(
        f"/api/org/positions/{position.pk}/",
        {"permissions": [c for c in before_codes if c != "org.manage_positions"]},
        format="json",
    )
    assert response.status_code == 409, response.content
    assert codes(position) == before_codes
    # nor through four-eyes: the proposal itself is refused
    second = second_admin()
    assert second.pk
    response = api("admin").patch(
        f"/api/org/positions/{position.pk}/", {"permissions": ["org.view"]}, format="json"
    )
    assert response.status_code == 409, response.content
    assert not PositionChangeRequest.objects.exists()


# --- defect 9, first example -----------------------------------------------------------------------------------


@pytest.mark.parametrize("is_active", [True, False])
def test_unit_create_with_is_active_is_not_a_server_error(api, is_active: bool) -> None:
    payload = {
        "code": f"ACT{int(is_active)}",
        "name": "新班组",
        "kind": "team",
        "parent": OrgUnit.objects.get(code="GC").pk,
        "is_active": is_active,
    }
    response = api("admin").post("/api/org/units/", payload, format="json")
    assert response.status_code == 201, response.content
    assert OrgUnit.objects.get(code=payload["code"]).is_active is is_active


def test_unit_create_with_is_active_not_a_boolean_is_400(api) -> None:
    before = OrgUnit.objects.count()
    payload = {"code": "ACTX", "name": "x", "kind": "team", "parent": OrgUnit.objects.get(code="GC").pk}
    response = api("admin").post("/api/org/units/", {**payload, "is_active": "maybe"}, format="json")
    assert response.status_code == 400
    assert "is_active" in response.data["errors"]
    assert OrgUnit.objects.count() == before
