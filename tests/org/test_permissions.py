"""Positions × protected actions: what each position may do, with scope and authority limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.core import access
from gridcare.core.actions import do_set_calendar_override
from gridcare.core.errors import LimitExceeded, NotFound, PermissionRefused
from gridcare.org import actions
from gridcare.org.models import OrgUnit, PermissionCode, Position, User

# username of a demo staff member holding each position
HOLDER = {
    "vp_marketing": "vp",
    "marketing_manager": "manager",
    "service_supervisor": "cs_supervisor",
    "service_rep": "cs_rep",
    "station_rep": "cg_rep",
    "repair_technician": "repair",
    "key_account_manager": "key_account",
    "market_specialist": "sales",
    "billing_accountant": "billing",
    "meter_reader": "reader",
    "collector": "collector",
    "metering_engineer": "metering",
    "auditor": "auditor",
    "load_manager": "load",
    "market_dept_manager": "market_manager",
    "system_admin": "admin",
    "customer": "customer",
    "headend_integration": "headend",
    "channel_integration": "bank",
}

# The rule, written out: which positions may perform each protected action.
ALLOWED = {
    "create_unit": {"system_admin"},
    "create_staff": {"system_admin", "marketing_manager"},
    "update_position": {"system_admin"},
    "set_calendar_override": {"system_admin", "marketing_manager"},
    "view_audit_log": {"vp_marketing", "marketing_manager", "service_supervisor", "auditor", "system_admin"},
}


def _viewer_position() -> Position:
    position, created = Position.objects.get_or_create(
        code="test_viewer",
        defaults={"name": "测试查看岗", "level": "execution", "data_scope": "own"},
    )
    if created:
        position.permissions.set(PermissionCode.objects.filter(code="org.view"))
    return position


def perform(name: str, user: User) -> None:
    company = OrgUnit.objects.get(code="GC")
    if name == "create_unit":
        actions.do_create_unit(user, code="TEST1", name="测试班组", kind="team", parent=company)
    elif name == "create_staff":
        actions.do_create_staff(
            user,
            username="newbie",
            password="s3cret-pass",
            full_name="新人",
            org_unit=company,
            # a position whose permissions every staff manager holds: since issue #9 nobody may hand out a
            # position carrying permissions they lack (tests/org/test_security.py), whatever their org.* rights
            position=_viewer_position(),
        )
    elif name == "update_position":
        actions.do_update_position(user, Position.objects.get(code="collector"), data_scope="unit")
    elif name == "set_calendar_override":
        import datetime as dt

        do_set_calendar_override(user, day=dt.date(2026, 12, 1), is_working_day=False, reason="地方假日")
    elif name == "view_audit_log":
        access.require_perm(user, "audit.view")
    else:  # pragma: no cover - guards the table above
        raise AssertionError(name)


def test_every_catalogue_position_has_a_demo_holder(org) -> None:
    assert set(HOLDER) == set(Position.objects.values_list("code", flat=True))


@pytest.mark.parametrize("action_name", sorted(ALLOWED))
@pytest.mark.parametrize("position", sorted(HOLDER))
def test_position_may_or_may_not_perform_action(staff, position: str, action_name: str) -> None:
    user = staff(HOLDER[position])
    assert user.position.code == position
    if position in ALLOWED[action_name]:
        perform(action_name, user)
    else:
        with pytest.raises(PermissionRefused) as refused:
            perform(action_name, user)
        assert user.position.name in refused.value.message


def test_refusal_changes_nothing(staff) -> None:
    before = OrgUnit.objects.count()
    with pytest.raises(PermissionRefused):
        actions.do_create_unit(
            staff("cs_rep"), code="X1", name="x", kind="team", parent=OrgUnit.objects.get(code="GC")
        )
    assert OrgUnit.objects.count() == before


class TestDataScope:
    def test_subtree_scope_sees_own_unit_and_below(self, staff) -> None:
        visible = access.restrict(User.objects.all(), staff("cg_head"))
        assert set(visible.values_list("username", flat=True)) == {
            "cg_head",
            "cg_rep",
            "cg_reader",
            "customer",
        }

    def test_branch_level_subtree_includes_stations(self, staff) -> None:
        head = staff("cg_head")
        head.org_unit = OrgUnit.objects.get(code="CD")
        units = access.restrict(OrgUnit.objects.all(), head)
        assert set(units.values_list("code", flat=True)) == {"CD", "CG", "HX"}

    def test_company_scope_sees_everything(self, staff) -> None:
        assert access.restrict(User.objects.all(), staff("manager")).count() == User.objects.count()

    def test_own_scope_sees_only_own_records(self, staff) -> None:
        repair = staff("repair")
        assert list(access.restrict(User.objects.all(), repair)) == [repair]

    def test_unit_scope_excludes_children(self, staff) -> None:
        supervisor = staff("cs_supervisor")
        supervisor.position.data_scope = Position.DataScope.UNIT
        codes = set(access.restrict(OrgUnit.objects.all(), supervisor).values_list("code", flat=True))
        assert codes == {"KF"}

    def test_outside_scope_is_not_found(self, staff) -> None:
        with pytest.raises(NotFound):
            access.get_in_scope(User.objects.all(), staff("cg_rep"), username="hx_rep")

    def test_action_on_object_outside_scope_is_not_found(self, staff) -> None:
        manager = staff("manager")
        manager.position.data_scope = Position.DataScope.SUBTREE
        with pytest.raises(NotFound):
            actions.do_update_staff(manager, staff("hx_rep"), full_name="改名")
        assert staff("hx_rep").full_name == "罗兰"

    def test_user_without_position_sees_nothing(self, org) -> None:
        nobody = User.objects.create_user("nobody", password="x-password-1")
        assert access.restrict(OrgUnit.objects.all(), nobody).count() == 0


class TestAuthorityLimits:
    def test_within_limit_passes(self, staff) -> None:
        access.check_limit(staff("billing"), "bill_adjustment", Decimal("2000.00"))

    def test_above_limit_names_limit_and_approvers(self, staff) -> None:
        with pytest.raises(LimitExceeded) as refused:
            access.check_limit(staff("billing"), "bill_adjustment", Decimal("-2500"))
        error = refused.value
        assert error.limit == Decimal("2000.00")
        assert error.requested == Decimal("2500")
        assert error.approvers == ["营销服务部经理", "分管营销副总经理"]
        assert "电费退补金额上限" in error.message and "营销服务部经理" in error.message

    def test_position_without_the_limit_may_not_do_any_amount(self, staff) -> None:
        with pytest.raises(LimitExceeded):
            access.check_limit(staff("cs_rep"), "bill_adjustment", Decimal("0.01"))

    def test_changed_limit_applies(self, staff) -> None:
        billing = staff("billing")
        actions.do_set_authority_limit(staff("admin"), billing.position, "bill_adjustment", "3000")
        access.check_limit(billing, "bill_adjustment", Decimal("2500"))

    def test_negative_limit_refused(self, staff) -> None:
        from gridcare.core.errors import InvalidInput

        with pytest.raises(InvalidInput) as refused:
            actions.do_set_authority_limit(staff("admin"), staff("billing").position, "bill_adjustment", "-1")
        assert "amount" in refused.value.errors

    def test_key_account_manager_credit_score_limit(self, staff) -> None:
        access.check_limit(staff("key_account"), "credit_score_change", Decimal("10"))
        with pytest.raises(LimitExceeded) as refused:
            access.check_limit(staff("key_account"), "credit_score_change", Decimal("11"))
        assert refused.value.approvers == ["营销服务部经理", "分管营销副总经理"]
