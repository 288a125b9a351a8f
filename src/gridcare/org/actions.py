"""Writes of the organisation app; each one audited, permission-checked and scoped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from rest_framework.authtoken.models import Token

from gridcare.core import audit
from gridcare.core.access import forget_cached_permissions, get_in_scope, permission_codes
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput, PermissionRefused
from gridcare.core.ownership import count_owned, owned_fields
from gridcare.core.queries import other_than
from gridcare.org.models import (
    AuthorityLimit,
    KPIDefinition,
    LimitType,
    OrgUnit,
    PermissionCode,
    Position,
    PositionChangeRequest,
    User,
)
from gridcare.org.selectors import active_administrators, is_administrator_codes

UNIT_FIELDS = ["code", "name", "kind", "parent_id", "path", "head_id", "is_active"]
STAFF_FIELDS = [
    "username",
    "full_name",
    "employee_no",
    "phone",
    "email",
    "position_id",
    "org_unit_id",
    "is_active",
    "left_on",
    "successor_id",
]


def _unit_path(parent: OrgUnit | None, code: str) -> str:
    return f"{parent.path if parent else '/'}{code}/"


def _check_scope(actor: User, obj: Any) -> None:
    """Refuse (as not found) when the actor's data scope does not reach ``obj``."""
    get_in_scope(type(obj)._default_manager.all(), actor, write=True, pk=obj.pk)


def check_can_grant(actor: User, codes: Iterable[str]) -> None:
    """The one guard against privilege escalation: nobody hands out a permission they do not hold.

    Every path that gives permissions to a position or a position to a person calls it (API, screens,
    catalogue import); superusers (the system actor of commands and the demo) hold every permission.
    """
    missing = sorted(set(codes) - permission_codes(actor))
    if missing:
        listed = ", ".join(missing)
        raise PermissionRefused(
            f"不能授予您自己没有的权限：{listed}。 (You cannot grant permissions you do not hold: {listed}.)"
        )


def check_can_assign_position(actor: User, position: Position) -> None:
    """Refuse to give someone a position that carries a permission the actor does not hold."""
    check_can_grant(actor, position.permissions.values_list("code", flat=True))


def _position_codes(position: Position) -> set[str]:
    return set(position.permissions.values_list("code", flat=True))


def _is_active_administrator(staff: User) -> bool:
    return active_administrators().filter(pk=staff.pk).exists()


def _refuse_removing_last_administrator(staff: User) -> None:
    """The last active administrator cannot leave, be disabled or be moved to a non-administrator position.

    The administrators' rows are locked first, so two administrators removing each other at the same moment
    are serialised and the second one is refused."""
    list(active_administrators().select_for_update().values_list("pk", flat=True))
    if _is_active_administrator(staff) and not active_administrators().exclude(pk=staff.pk).exists():
        raise Conflict(
            f"{staff.display_name} 是最后一位在岗的系统管理员，不能移除。"
            " (This is the last active administrator and cannot be removed.)"
        )


def _needs_second_administrator(actor: User, before: set[str], after: set[str]) -> bool:
    """Changes to an administrator position (or one that would become one) wait for a second administrator;
    superusers (commands, demo) apply directly."""
    if getattr(actor, "is_superuser", False):
        return False
    return is_administrator_codes(before) or is_administrator_codes(after)


@action("org.create_unit", permission="org.manage_units")
def do_create_unit(
    actor: User,
    *,
    code: str,
    name: str,
    kind: str,
    parent: OrgUnit | None = None,
    head: User | None = None,
    is_active: bool = True,
) -> OrgUnit:
    errors: dict[str, str] = {}
    if OrgUnit.objects.filter(code=code).exists():
        errors["code"] = f"机构编码「{code}」已存在。 (Unit code already exists.)"
    if kind not in OrgUnit.Kind.values:
        errors["kind"] = f"未知的机构类型「{kind}」。 (Unknown unit kind.)"
    if parent is None and kind != OrgUnit.Kind.COMPANY:
        errors["parent"] = "只有公司可以没有上级机构。 (Only a company may have no parent.)"
    if errors:
        raise InvalidInput(errors)
    if parent is not None:
        _check_scope(actor, parent)
    unit = OrgUnit.objects.create(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        head=head,
        is_active=is_active,
        path=_unit_path(parent, code),
    )
    audit.record(actor, "org.create_unit", unit, after=audit.snapshot(unit, UNIT_FIELDS))
    return unit


@action("org.update_unit", permission="org.manage_units")
def do_update_unit(actor: User, unit: OrgUnit, **changes: Any) -> OrgUnit:
    """Change name, kind, head or active flag; moving in the tree is :func:`do_move_unit`."""
    allowed = {"name", "kind", "head", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput({f: "此字段不能在此修改。 (Not editable here.)" for f in sorted(unknown)})
    _check_scope(actor, unit)
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    if "kind" in changes and changes["kind"] not in OrgUnit.Kind.values:
        raise InvalidInput({"kind": f"未知的机构类型「{changes['kind']}」。 (Unknown unit kind.)"})
    if changes.get("is_active") is False and unit.children.filter(is_active=True).exists():
        raise InvalidInput({"is_active": "仍有启用的下级机构，不能停用。 (Active child units exist.)"})
    before = audit.snapshot(unit, UNIT_FIELDS)
    for field, value in changes.items():
        setattr(unit, field, value)
    unit.save()
    old, new = audit.diff(before, audit.snapshot(unit, UNIT_FIELDS))
    audit.record(actor, "org.update_unit", unit, before=old, after=new)
    return unit


@action("org.move_unit", permission="org.manage_units")
def do_move_unit(actor: User, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move a unit and its whole subtree under another parent, rewriting the tree paths in one statement."""
    _check_scope(actor, unit)
    _check_scope(actor, new_parent)
    if new_parent.path.startswith(unit.path):
        raise InvalidInput({"parent": "不能把机构移到它自己的下级之下。 (A unit cannot move below itself.)"})
    old_prefix = unit.path
    new_prefix = _unit_path(new_parent, unit.code)
    before = audit.snapshot(unit, UNIT_FIELDS)
    OrgUnit.objects.filter(path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr(F("path"), len(old_prefix) + 1))
    )
    OrgUnit.objects.filter(pk=unit.pk).update(parent=new_parent)
    unit.refresh_from_db()
    old, new = audit.diff(before, audit.snapshot(unit, UNIT_FIELDS))
    audit.record(actor, "org.move_unit", unit, before=old, after=new)
    return unit


def _position_snapshot(position: Position) -> dict[str, Any]:
    data = audit.snapshot(
        position, ["code", "name", "name_en", "level", "superior_id", "data_scope", "read_scope"]
    )
    data["permissions"] = sorted(position.permissions.values_list("code", flat=True))
    return data


@action("org.update_position", permission="org.manage_positions")
def do_update_position(
    actor: User,
    position: Position,
    *,
    data_scope: str | None = None,
    permissions: Iterable[str] | None = None,
    superior: Position | None = None,
    read_scope: str | None = None,
) -> Position | PositionChangeRequest:
    """Change what a position may see (data scope; ``read_scope``: how far it reads customer data, ``""`` = as far
    as the data scope), may do (permission codes) and reports to.

    Nobody adds a permission they do not hold; a change to an administrator position is only proposed here
    (the answer is the pending :class:`PositionChangeRequest`) and applies once another administrator approves.
    """
    errors: dict[str, str] = {}
    if data_scope is not None and data_scope not in Position.DataScope.values:
        errors["data_scope"] = f"未知的数据范围「{data_scope}」。 (Unknown data scope.)"
    if read_scope is not None and read_scope not in ("", *Position.DataScope.values):
        errors["read_scope"] = f"未知的查询范围「{read_scope}」。 (Unknown read scope.)"
    codes: list[str] = []
    if permissions is not None:
        if isinstance(permissions, (str, bytes, Mapping)):
            errors["permissions"] = "权限应为权限编码的列表。 (Permissions must be a list of codes.)"
        else:
            codes = sorted(set(permissions))
            known = set(PermissionCode.objects.filter(code__in=codes).values_list("code", flat=True))
            missing = [c for c in codes if c not in known]
            if missing:
                errors["permissions"] = f"未知的权限：{', '.join(missing)}。 (Unknown permission codes.)"
    if superior is not None and superior.pk == position.pk:
        errors["superior"] = "岗位不能是自己的上级。 (A position cannot report to itself.)"
    if errors:
        raise InvalidInput(errors)
    position = Position.objects.select_for_update().get(pk=position.pk)
    before = _position_codes(position)
    after = set(codes) if permissions is not None else before
    check_can_grant(actor, after - before)
    changes = {
        "data_scope": data_scope,
        "permissions": codes if permissions is not None else None,
        "superior_id": superior.pk if superior is not None else None,
        "read_scope": read_scope,
    }
    _refuse_stripping_last_administrators(position, before, after)
    changes_anything = (
        after != before
        or (data_scope is not None and data_scope != position.data_scope)
        or (read_scope is not None and read_scope != position.read_scope)
        or (superior is not None and superior.pk != position.superior_id)
    )
    if changes_anything and _needs_second_administrator(actor, before, after):
        return _propose_change(actor, position, PositionChangeRequest.Kind.POSITION, changes)
    return _apply_position_change(actor, position, changes)


def _refuse_stripping_last_administrators(position: Position, before: set[str], after: set[str]) -> None:
    if not is_administrator_codes(before) or is_administrator_codes(after):
        return
    holders = active_administrators()
    list(holders.select_for_update().values_list("pk", flat=True))
    if holders.filter(position=position).exists() and not holders.exclude(position=position).exists():
        raise Conflict(
            "该岗位由最后的在岗系统管理员担任，不能去掉其管理权限。"
            " (The last active administrators hold this position: it cannot lose its administrator permissions.)"
        )


def _apply_position_change(
    actor: User, position: Position, changes: Mapping[str, Any], note: str = ""
) -> Position:
    before = _position_snapshot(position)
    if changes.get("data_scope") is not None:
        position.data_scope = changes["data_scope"]
    if changes.get("read_scope") is not None:
        position.read_scope = changes["read_scope"]
    if changes.get("superior_id") is not None:
        position.superior_id = changes["superior_id"]
    position.save()
    if changes.get("permissions") is not None:
        position.permissions.set(PermissionCode.objects.filter(code__in=changes["permissions"]))
        position.bump_permissions_version()
    old, new = audit.diff(before, _position_snapshot(position))
    audit.record(actor, "org.update_position", position, before=old, after=new, note=note)
    return position


def _propose_change(
    actor: User, position: Position, kind: str, changes: Mapping[str, Any]
) -> PositionChangeRequest:
    request = PositionChangeRequest.objects.create(
        position=position,
        kind=kind,
        changes=dict(changes),
        before=_position_snapshot(position) | {"limits": _limits_snapshot(position)},
        proposed_by=actor,
    )
    audit.record(
        actor,
        "org.propose_position_change",
        request,
        after={
            "position": position.code,
            "kind": kind,
            **{k: v for k, v in changes.items() if v is not None},
        },
        note="双人复核：待另一位管理员审批 (four-eyes: awaiting a second administrator)",
    )
    return request


def _limits_snapshot(position: Position) -> dict[str, str]:
    return {
        code: str(amount)
        for code, amount in position.limits.values_list("limit_type__code", "amount").order_by(
            "limit_type__code"
        )
    }


@action("org.decide_position_change", permission="org.manage_positions")
def do_decide_position_change(
    actor: User, request: PositionChangeRequest, *, approve: bool, reason: str = ""
) -> PositionChangeRequest:
    """A second administrator approves (the change applies now) or rejects a pending change."""
    request = PositionChangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != PositionChangeRequest.Status.PENDING:
        raise Conflict(
            f"该申请已{request.get_status_display()}。 (This request was already {request.status}.)"
        )
    if request.proposed_by_id == actor.pk:
        raise PermissionRefused("不能审批自己提出的变更。 (You cannot decide on your own proposal.)")
    if not actor.is_superuser and not is_administrator_codes(permission_codes(actor)):
        raise PermissionRefused("只有系统管理员可以审批。 (Only an administrator may decide.)")
    position = Position.objects.select_for_update().get(pk=request.position_id)
    changes = request.changes
    if approve:
        note = f"双人复核 #{request.pk}：{request.proposed_by.display_name} 提出 (four-eyes, proposed by {request.proposed_by.username})"
        if request.kind == PositionChangeRequest.Kind.LIMIT:
            _apply_limit(actor, position, changes["limit"], Decimal(changes["amount"]), note=note)
        else:
            before = _position_codes(position)
            after = set(changes["permissions"]) if changes.get("permissions") is not None else before
            check_can_grant(actor, after - before)
            _refuse_stripping_last_administrators(position, before, after)
            _apply_position_change(actor, position, changes, note=note)
    request.status = (
        PositionChangeRequest.Status.APPROVED if approve else PositionChangeRequest.Status.REJECTED
    )
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.reason = reason[:200]
    request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit.record(
        actor,
        "org.approve_position_change" if approve else "org.reject_position_change",
        request,
        before={"status": "pending"},
        after={"status": request.status, "reason": request.reason},
    )
    return request


@action("org.set_authority_limit", permission="org.manage_positions")
def do_set_authority_limit(
    actor: User, position: Position, limit_code: str, amount: Decimal | str
) -> AuthorityLimit | PositionChangeRequest:
    """Set a limit; on an administrator position the change waits for a second administrator."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput({"amount": f"「{amount}」不是有效金额。 (Not a number.)"}) from None
    if not value.is_finite() or value < 0:
        raise InvalidInput({"amount": "额度不能为负数。 (A limit cannot be negative.)"})
    if not LimitType.objects.filter(code=limit_code).exists():
        raise InvalidInput({"limit_type": f"未知的额度类型「{limit_code}」。 (Unknown limit type.)"})
    value = value.quantize(Decimal("0.01"))
    codes = _position_codes(position)
    if _needs_second_administrator(actor, codes, codes):
        return _propose_change(
            actor, position, PositionChangeRequest.Kind.LIMIT, {"limit": limit_code, "amount": str(value)}
        )
    return _apply_limit(actor, position, limit_code, value)


def _apply_limit(
    actor: User, position: Position, limit_code: str, value: Decimal, note: str = ""
) -> AuthorityLimit:
    limit_type = LimitType.objects.get(code=limit_code)
    existing = (
        AuthorityLimit.objects.select_for_update().filter(position=position, limit_type=limit_type).first()
    )
    before = {"limit": limit_code, "amount": str(existing.amount)} if existing else None
    limit, _created = AuthorityLimit.objects.update_or_create(
        position=position, limit_type=limit_type, defaults={"amount": value}
    )
    audit.record(
        actor,
        "org.set_authority_limit",
        position,
        before=before,
        after={"limit": limit_code, "amount": str(limit.amount)},
        note=note,
    )
    return limit


def _validate_staff_fields(data: Mapping[str, Any], *, instance: User | None = None) -> None:
    errors: dict[str, str] = {}
    username = data.get("username")
    if username is not None:
        taken = User.objects.filter(other_than(instance), username=username).exists()
        if taken:
            errors["username"] = f"登录名「{username}」已被使用。 (Username already taken.)"
    employee_no = data.get("employee_no")
    if employee_no:
        taken = User.objects.filter(other_than(instance), employee_no=employee_no).exists()
        if taken:
            errors["employee_no"] = f"工号「{employee_no}」已存在。 (Employee number already exists.)"
    phone = data.get("phone")
    if phone and not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
        errors["phone"] = "手机号应为以 1 开头的 11 位数字。 (A mobile number has 11 digits starting with 1.)"
    if errors:
        raise InvalidInput(errors)


@action("org.create_staff", permission="org.manage_staff")
def do_create_staff(
    actor: User,
    *,
    username: str,
    password: str,
    full_name: str,
    position: Position,
    org_unit: OrgUnit,
    employee_no: str | None = None,
    phone: str = "",
    email: str = "",
) -> User:
    _validate_staff_fields({"username": username, "employee_no": employee_no, "phone": phone})
    try:
        validate_password(password, user=User(username=username, full_name=full_name, email=email))
    except ValidationError as exc:
        raise InvalidInput({"password": exc.messages}) from None
    _check_scope(actor, org_unit)
    check_can_assign_position(actor, position)
    staff = User(
        username=username,
        full_name=full_name,
        position=position,
        org_unit=org_unit,
        employee_no=employee_no or None,
        phone=phone,
        email=email,
    )
    staff.set_password(password)
    staff.save()
    audit.record(actor, "org.create_staff", staff, after=audit.snapshot(staff, STAFF_FIELDS))
    return staff


@action("org.update_staff", permission="org.manage_staff")
def do_update_staff(actor: User, staff: User, **changes: Any) -> User:
    allowed = {"full_name", "employee_no", "phone", "email", "position", "org_unit"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput({f: "此字段不能在此修改。 (Not editable here.)" for f in sorted(unknown)})
    _check_scope(actor, staff)
    if "org_unit" in changes:
        _check_scope(actor, changes["org_unit"])
    _validate_staff_fields(changes, instance=staff)
    staff = User.objects.select_for_update().get(pk=staff.pk)
    new_position = changes.get("position")
    if new_position is not None and new_position.pk != staff.position_id:
        check_can_assign_position(actor, new_position)
        if not is_administrator_codes(_position_codes(new_position)):
            _refuse_removing_last_administrator(staff)
    before = audit.snapshot(staff, STAFF_FIELDS)
    for field, value in changes.items():
        setattr(staff, field, value)
    staff.save()
    forget_cached_permissions(staff)
    old, new = audit.diff(before, audit.snapshot(staff, STAFF_FIELDS))
    audit.record(actor, "org.update_staff", staff, before=old, after=new)
    return staff


def supervisor_of(staff: User) -> User | None:
    """Whose queue receives a leaver's records: the head of their unit, else of the nearest unit above."""
    unit = staff.org_unit
    while unit is not None:
        head = unit.head
        if head is not None and head.pk != staff.pk and head.is_active and head.left_on is None:
            return head
        unit = unit.parent
    return None


@action("org.staff_leave", permission="org.manage_staff")
def do_staff_leave(
    actor: User, staff: User, *, successor: User | None = None, left_on: dt.date | None = None
) -> User:
    """A person leaves: everything they own moves to ``successor`` (or their supervisor) and they are disabled."""
    _check_scope(actor, staff)
    if staff.pk == actor.pk:
        raise Conflict("不能为自己办理离岗交接。 (Nobody hands themselves over.)")
    if staff.left_on is not None:
        raise InvalidInput({"staff": f"{staff.display_name} 已于 {staff.left_on} 离岗。 (Already left.)"})
    if successor is None:
        successor = supervisor_of(staff)
        if successor is None:
            raise InvalidInput(
                {"successor": "未找到上级负责人，请指定接替人。 (No supervisor found; name a successor.)"}
            )
    if successor.pk == staff.pk:
        raise InvalidInput({"successor": "接替人不能是离岗人员本人。 (The successor cannot be the leaver.)"})
    if not successor.is_active or successor.left_on is not None:
        raise InvalidInput(
            {"successor": f"接替人 {successor.display_name} 已停用。 (The successor is inactive.)"}
        )
    staff = User.objects.select_for_update().get(pk=staff.pk)
    _refuse_removing_last_administrator(staff)
    moved: dict[str, int] = {}
    for entry in owned_fields():
        manager = entry.model._default_manager
        ids = list(manager.filter(**{entry.field: staff}).order_by("pk").values_list("pk", flat=True))
        if not ids:
            continue
        list(manager.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        manager.filter(pk__in=ids).update(**{entry.field: successor})
        audit.bulk_record(
            actor,
            "org.transfer_owned",
            (
                {
                    "object_type": entry.model._meta.label_lower,
                    "object_id": pk,
                    "before": {entry.field: staff.pk},
                    "after": {entry.field: successor.pk},
                    "note": f"{entry.label}: {staff.display_name} → {successor.display_name}",
                }
                for pk in ids
            ),
        )
        moved[entry.key] = len(ids)
    leftover = {k: v for k, v in count_owned(staff).items() if v}
    if leftover:
        raise RuntimeError(f"Orphan transfer left records with the leaver: {leftover}")
    before = audit.snapshot(staff, STAFF_FIELDS)
    staff.left_on = left_on or timezone.localdate()
    staff.is_active = False
    staff.successor = successor
    staff.save(update_fields=["left_on", "is_active", "successor"])
    Token.objects.filter(user=staff).delete()
    old, new = audit.diff(before, audit.snapshot(staff, STAFF_FIELDS))
    audit.record(actor, "org.staff_leave", staff, before=old, after={**new, "moved": moved})
    return staff


@action("org.rotate_token", permission="org.manage_staff")
def do_rotate_api_token(actor: User, staff: User) -> str:
    """Issue a new API token for ``staff`` (e.g. a head-end integration account) and revoke the old one at once;
    answers the new key, which is shown once. The audit row names the account, never the key."""
    _check_scope(actor, staff)
    if not staff.is_active:
        raise InvalidInput({"staff": "该账号已停用。 (The account is inactive.)"})
    had = Token.objects.filter(user=staff).delete()[0] > 0
    token = Token.objects.create(user=staff)
    audit.record(actor, "org.rotate_token", staff, after={"replaced": had})
    return str(token.key)


@action("org.unlock_login", permission="security.view_logins")
def do_unlock_login(actor: User, username: str) -> int:
    """Lift a login lockout (django-axes) of a user name at every address before its cool-off ends."""
    from axes.utils import reset

    removed = reset(username=username)
    audit.record(
        actor,
        "org.unlock_login",
        object_type="axes.accessattempt",
        object_id=username[:64],
        object_repr=username[:150],
        after={"username": username, "attempts_removed": removed},
    )
    return removed


@action("org.load_catalogue", permission="org.manage_positions")
def do_load_catalogue(actor: User, catalogue: Mapping[str, Any]) -> dict[str, int]:
    """Create or update permissions, limit types, positions, their limits and KPIs from catalogue data."""
    for item in catalogue["permissions"]:
        PermissionCode.objects.update_or_create(
            code=item["code"],
            defaults={"name": item["name"], "name_en": item.get("name_en", ""), "area": item["area"]},
        )
    for item in catalogue["limit_types"]:
        LimitType.objects.update_or_create(
            code=item["code"],
            defaults={"name": item["name"], "name_en": item.get("name_en", ""), "unit": item["unit"]},
        )
    known_codes = set(PermissionCode.objects.values_list("code", flat=True))
    check_can_grant(actor, {code for item in catalogue["positions"] for code in item.get("permissions", [])})
    positions: dict[str, Position] = {}
    for item in catalogue["positions"]:
        unknown = sorted(set(item.get("permissions", [])) - known_codes)
        if unknown:
            raise InvalidInput({"permissions": f"岗位 {item['code']} 引用了未知权限：{', '.join(unknown)}"})
        position, _ = Position.objects.update_or_create(
            code=item["code"],
            defaults={
                "name": item["name"],
                "name_en": item.get("name_en", ""),
                "level": item["level"],
                "data_scope": item["data_scope"],
                "read_scope": item.get("read_scope", ""),
                "responsibilities": item.get("responsibilities", []),
                "authorities": item.get("authorities", []),
                "source": item.get("source", ""),
            },
        )
        wanted = set(item.get("permissions", []))
        if set(position.permissions.values_list("code", flat=True)) != wanted:  # reloading changes nothing
            position.permissions.set(PermissionCode.objects.filter(code__in=wanted))
            position.bump_permissions_version()
        positions[position.code] = position
    for item in catalogue["positions"]:
        position = positions[item["code"]]
        superior_code = item.get("superior")
        position.superior = positions.get(superior_code) if superior_code else None
        position.save(update_fields=["superior"])
        for limit_code, amount in (item.get("limits") or {}).items():
            AuthorityLimit.objects.update_or_create(
                position=position,
                limit_type=LimitType.objects.get(code=limit_code),
                defaults={"amount": Decimal(str(amount))},
            )
        for kpi in item.get("kpis", []):
            KPIDefinition.objects.update_or_create(
                position=position,
                code=kpi["code"],
                defaults={
                    "name": kpi["name"],
                    "name_en": kpi.get("name_en", ""),
                    "unit": kpi.get("unit", ""),
                    "direction": kpi.get("direction", KPIDefinition.Direction.HIGHER),
                    "definition": kpi.get("definition", ""),
                },
            )
    counts = {
        "permissions": len(catalogue["permissions"]),
        "limit_types": len(catalogue["limit_types"]),
        "positions": len(positions),
    }
    audit.record(actor, "org.load_catalogue", object_type="org.position", object_id="*", after=counts)
    return counts
