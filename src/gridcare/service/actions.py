"""Writes of the service desk: every step of a work order's life is one audited action here.

Each action checks permission and data scope, refuses a step the state machine does not allow (409 listing the
allowed ones), writes a transition row and an audit row in the same transaction, and keeps the SLA clocks in
step (pauses, milestones reached, new clocks).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gridcare.core import audit
from gridcare.core.access import check_limit, get_in_scope, has_perm, require_perm, restrict, row_in_scope
from gridcare.core.actions import action, after_commit
from gridcare.core.errors import Conflict, InvalidInput, InvalidTransition, PermissionRefused
from gridcare.core.locks import job_lock
from gridcare.core.rows import TableRef, fetch_one
from gridcare.customers.models import Account, Contact, Customer, ServicePoint
from gridcare.engine.money import decimal_exponent
from gridcare.org.models import OrgUnit, User
from gridcare.service import rules
from gridcare.service import sla as clocks
from gridcare.service.choices import (
    ACTIVE_STATUSES,
    ANONYMOUS_ALLOWED,
    INITIAL_STATUS,
    OPEN_STATUSES,
    PAUSED_STATUSES,
    SUB_TYPES,
    TRANSITIONS,
    Cause,
    Channel,
    ClockKind,
    Milestone,
    OrderType,
    Status,
    Transition,
    allowed_transitions,
    target_status,
)
from gridcare.service.conf import conf
from gridcare.service.models import (
    AREA_CLASSES,
    Callback,
    Compensation,
    DispatchRule,
    RepairRecord,
    ServiceFee,
    ServiceNotice,
    SLAClock,
    SLAPolicy,
    StockItem,
    StockMovement,
    WorkOrder,
    WorkOrderTransition,
)
from gridcare.service.persist import insert_order

ORDER_FIELDS = [
    "number",
    "order_type",
    "sub_type",
    "channel",
    "status",
    "customer_id",
    "account_id",
    "service_point_id",
    "unit_id",
    "intake_unit_id",
    "queue_unit_id",
    "assignee_id",
    "master_id",
    "area_text",
    "area_class",
    "due_at",
]
STATE_FIELDS = [
    "status",
    "queue_unit_id",
    "assignee_id",
    "paused_from",
    "pause_reason",
    "taken_at",
    "first_response_at",
    "arrival_at",
    "restoration_at",
    "answered_at",
    "callback_at",
    "closed_at",
    "escalation_level",
    "reopen_count",
    "cause",
    "result",
    "due_at",
    "sla_state",
]
HANDLER_PERMISSIONS = ("workorder.process", "workorder.dispatch")
PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
AREA_VALUES = {code for code, _label in AREA_CLASSES}


# ----------------------------------------------------------------------------------------------- helpers


def _pk(value: Any) -> int | None:
    if value in (None, ""):
        return None
    pk = getattr(value, "pk", value)
    try:
        return int(pk)
    except (TypeError, ValueError):
        return -1


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def _required(value: str, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput({field: message})
    return text


def _load(actor: User, order: WorkOrder | int) -> WorkOrder:
    """The order, locked, if the actor's data scope reaches it (404 otherwise)."""
    queryset = WorkOrder.objects.select_for_update(of=("self",))
    return get_in_scope(queryset, actor, write=True, pk=_pk(order))


def _check(order: WorkOrder, transition: str) -> None:
    sources, _target = TRANSITIONS[transition]
    if order.status not in sources:
        raise InvalidTransition(order.status, transition, allowed_transitions(order.status))


def _to(order: WorkOrder, transition: str) -> str:
    """The status the state table gives ``transition`` from where the order is now."""
    return target_status(transition, order.status, order.paused_from)


def _require_handler(actor: User, order: WorkOrder, *, also: tuple[str, ...] = ()) -> None:
    """Field and handling steps: the assignee (or anyone in the queue when unassigned) or a supervisor."""
    if has_perm(actor, "workorder.reassign"):
        return
    if not any(has_perm(actor, code) for code in (*HANDLER_PERMISSIONS, *also)):
        require_perm(actor, "workorder.process")
    if order.assignee_id and order.assignee_id != actor.pk:
        raise PermissionRefused(
            f"工单 {order.number} 已派给其他人员处理。 (Work order {order.number} is assigned to someone else.)"
        )


def _log(
    actor: User, order: WorkOrder, transition: str, from_status: str, at: dt.datetime, note: str = ""
) -> WorkOrderTransition:
    return WorkOrderTransition(
        order=order,
        action=transition,
        from_status=from_status,
        to_status=order.status,
        actor=actor if actor.pk else None,
        at=at,
        note=note[:500],
    )


def _save_step(
    actor: User,
    code: str,
    order: WorkOrder,
    before: Mapping[str, Any],
    transition: str,
    from_status: str,
    at: dt.datetime,
    note: str = "",
) -> WorkOrder:
    order.save()
    _log(actor, order, transition, from_status, at, note).save()
    old, new = audit.diff(before, audit.snapshot(order, STATE_FIELDS))
    audit.record(actor, code, order, before=old, after=new, note=note)
    return order


def _refresh(order: WorkOrder, at: dt.datetime) -> None:
    clocks.summarise(order, clocks.open_clocks(order), at)


def _notify(order: WorkOrder, kind: str, recipient_id: int | None, text: str, at: dt.datetime) -> None:
    if recipient_id is not None:
        ServiceNotice.objects.create(
            order=order, kind=kind, recipient_id=recipient_id, sent_at=at, text=text[:200]
        )


# ----------------------------------------------------------------------------------------------- intake


ORDER_TYPES = frozenset(OrderType.values)  # ``.values`` builds a new list on every use
CHANNELS = frozenset(Channel.values)


@functools.cache
def _lookup_sql() -> dict[str, str]:
    """The intake lookups, one statement each, built once from the models' metadata.

    Each row starts with what the scope rule needs — the owning unit's path and the owner (for a customer:
    whether the caller manages one of its accounts) — so :func:`row_in_scope` decides on the same row."""

    def col(model: Any, name: str) -> str:
        return model._meta.get_field(name).column

    sp, acc, cus = ServicePoint._meta.db_table, Account._meta.db_table, Customer._meta.db_table
    unit, user = OrgUnit._meta.db_table, User._meta.db_table
    path, unit_id = col(OrgUnit, "path"), col(OrgUnit, "id")
    manager = col(Account, "account_manager")
    manager_join = f"LEFT JOIN {user} m ON m.{col(User, 'id')} = a.{manager}"
    return {
        "service_point": (
            f"SELECT u.{path}, a.{manager}, sp.id, sp.{col(ServicePoint, 'account')}, a.{col(Account, 'customer')}, "
            f"sp.{col(ServicePoint, 'org_unit')}, a.{col(Account, 'is_key_account')}, a.{manager}, "
            f"m.{col(User, 'org_unit')}, sp.{col(ServicePoint, 'area_class')}, "
            f"sp.{col(ServicePoint, 'is_important')}, sp.{col(ServicePoint, 'address')} "
            f"FROM {sp} sp JOIN {acc} a ON a.id = sp.{col(ServicePoint, 'account')} "
            f"JOIN {unit} u ON u.{unit_id} = sp.{col(ServicePoint, 'org_unit')} {manager_join} WHERE sp.id = %s"
        ),
        "account": (
            f"SELECT u.{path}, a.{manager}, NULL, a.id, a.{col(Account, 'customer')}, a.{col(Account, 'org_unit')}, "
            f"a.{col(Account, 'is_key_account')}, a.{manager}, m.{col(User, 'org_unit')} "
            f"FROM {acc} a JOIN {unit} u ON u.{unit_id} = a.{col(Account, 'org_unit')} {manager_join} "
            "WHERE a.id = %s"
        ),
        "customer": (
            f"SELECT u.{path}, EXISTS (SELECT 1 FROM {acc} o WHERE o.{col(Account, 'customer')} = c.id "
            f"AND o.{manager} = %s), NULL, NULL, c.id, c.{col(Customer, 'org_unit')} "
            f"FROM {cus} c JOIN {unit} u ON u.{unit_id} = c.{col(Customer, 'org_unit')} WHERE c.id = %s"
        ),
    }


_LOOKUP_KEYS = (
    "service_point_id",
    "account_id",
    "customer_id",
    "station_id",
    "is_key_account",
    "manager_id",
    "manager_unit_id",
    "area_class",
    "is_important",
    "address",
)
_LOOKUP_MODELS: dict[str, type[Customer | Account | ServicePoint]] = {
    "service_point": ServicePoint,
    "account": Account,
    "customer": Customer,
}
_UNKNOWN = {
    "service_point": "用电地址不存在。 (Unknown service point.)",
    "account": "户号不存在。 (Unknown account.)",
    "customer": "客户不存在。 (Unknown customer.)",
}


def _lookup(
    actor: User, service_point: int | None, account: int | None, customer: int | None, errors: dict[str, str]
) -> dict[str, Any]:
    """Customer, account and service point of the call in one query (or none for an anonymous call), within
    the actor's data scope: an id outside it is answered as unknown, like an id that does not exist.

    The most specific of the three given decides; the others must agree with it. (Written out in SQL: this
    runs on every intake, and the ORM would rebuild the three-table join each time.)"""
    kind, pk = next(
        (
            (k, v)
            for k, v in (("service_point", service_point), ("account", account), ("customer", customer))
            if v
        ),
        (None, None),
    )
    if kind is None:
        return {}
    params = [actor.pk or 0, pk] if kind == "customer" else [pk]
    row = fetch_one(_lookup_sql()[kind], params)
    if row is not None:
        owner: Any = row[1]
        owners = ([actor.pk] if owner else []) if kind == "customer" else [owner]
        # a reference to the caller, read as far as the read scope reaches: the hotline registers a call for any
        # customer of the company; the order is then written for its station (responsible) and the hotline (intake)
        if not row_in_scope(actor, unit_paths=[row[0]], owner_ids=owners, model=_LOOKUP_MODELS[kind]):
            row = None  # outside the caller's data scope: exactly as if it did not exist
    if row is None:
        errors[kind] = _UNKNOWN[kind]
        return {}
    found = {key: value for key, value in zip(_LOOKUP_KEYS, row[2:], strict=False) if value is not None}
    for key in ("is_key_account", "is_important"):
        if key in found:
            found[key] = bool(found[key])
    if kind == "service_point" and account is not None and account != found["account_id"]:
        errors["account"] = "户号与用电地址不一致。 (The service point belongs to another account.)"
    if customer is not None and found.get("customer_id") not in (None, customer):
        errors["customer"] = "客户与户号不一致。 (The account belongs to another customer.)"
    return found


def _open_master(actor: User, master_id: int | None, errors: dict[str, str]) -> WorkOrder | None:
    """The order a call is linked to by hand: one the actor sees, still being handled (not yet returned,
    called back or archived); a linked call's own master when it was itself a repeat call."""
    orders = restrict(
        WorkOrder.objects.only(
            "id", "number", "order_type", "sub_type", "status", "master_id", "queue_unit_id", "assignee_id"
        ),
        actor,
    )
    found = orders.filter(pk=master_id).first() if master_id is not None else None
    if found is not None and found.master_id is not None:
        found = orders.filter(pk=found.master_id).first()
    if found is None:
        errors["master"] = "未找到要并入的工单，或不在您的数据范围内。 (Order to link to not found.)"
        return None
    if found.status not in ACTIVE_STATUSES:
        errors["master"] = (
            f"工单 {found.number} 已回单或归档，不能再并入来电，请另行受理。"
            f" (Order {found.number} is closed; register a new order instead.)"
        )
        return None
    return found


def _primary_contact(customer_id: int) -> tuple[str, str]:
    """(name, mobile) of the customer's primary contact, else its first contact, else blanks."""
    row = (
        Contact.objects.filter(customer_id=customer_id)
        .order_by("-is_primary", "pk")
        .values_list("name", "mobile")
        .first()
    )
    return (row[0], row[1]) if row else ("", "")


def _root_unit_id() -> int:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("id").values_list("id", flat=True)[0]


_MASTER_SQL = (
    "SELECT {o.id}, {o.number}, {o.queue_unit_id}, {o.assignee_id} FROM {o} "
    "WHERE {o.order_type} = %s AND {o.unit_id} = %s AND {o.created_at} >= %s AND {o.created_at} <= %s "
    "AND {o.master_id} IS NULL AND {o.status} IN ({statuses}) AND {match} = %s "
    "ORDER BY {o.created_at}, {o.id} LIMIT 1"
)


@functools.cache
def _master_sql(match: str, statuses: int) -> str:
    order = TableRef(WorkOrder)
    return _MASTER_SQL.format(o=order, match=getattr(order, match), statuses=", ".join(["%s"] * statuses))


def _find_master(
    order_type: str, unit_id: int, area_text: str, service_point_id: int | None, at: dt.datetime
) -> WorkOrder | None:
    """重复来电: an open repair order of the same station and area (or service point) within the window.
    (One indexed query on the intake hot path, written out to spare the ORM's compile time.)"""
    if order_type != OrderType.REPAIR or not (area_text or service_point_id):
        return None
    window = dt.timedelta(minutes=int(conf("DUPLICATE_WINDOW_MINUTES")))
    match, value = ("area_text", area_text) if area_text else ("service_point_id", service_point_id)
    statuses = (Status.ACCEPTED, Status.DISPATCHED, Status.TAKEN, Status.PROCESSING, *PAUSED_STATUSES)
    row = fetch_one(
        _master_sql(match, len(statuses)),
        [
            OrderType.REPAIR,
            unit_id,
            *map(connection.ops.adapt_datetimefield_value, (at - window, at)),
            *statuses,
            value,
        ],
    )
    if row is None:
        return None
    return WorkOrder(id=row[0], number=row[1], queue_unit_id=row[2], assignee_id=row[3])


def normalise_area(text: str) -> str:
    """Area / feeder text compared for duplicates: no spaces, full-width digits and letters folded."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in (text or ""))
    return re.sub(r"\s+", "", folded).upper()[:100]


@action("service.create_order", permission="workorder.create")
def do_create_order(
    actor: User,
    *,
    order_type: str,
    sub_type: str = "",
    channel: str = Channel.PHONE,
    customer: Any = None,
    account: Any = None,
    service_point: Any = None,
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
    area_text: str = "",
    area_class: str = "",
    title: str = "",
    description: str = "",
    master: Any = None,
    contact_from_customer: bool = False,
    auto_dispatch: bool = True,
    at: dt.datetime | None = None,
) -> WorkOrder:
    """受理 — register a call: look up the customer, number it, start its SLA clocks, link repeated outage calls
    to their master order (重复来电并单) and dispatch it by the rules.

    ``master`` links the call by hand to an open order the desk sees (并入此单): the call is registered as a
    repeat call of it, takes its type when none is given, and starts neither clocks nor a dispatch of its own.
    ``contact_from_customer`` fills a missing caller name and number from the customer's primary contact, so a
    desk that sees phone numbers masked never has to type the clear number back."""
    at = _now(at)
    errors: dict[str, str] = {}
    chosen_master = _open_master(actor, _pk(master), errors) if master not in (None, "") else None
    if chosen_master is not None and not order_type:
        order_type, sub_type = chosen_master.order_type, chosen_master.sub_type
    if not order_type:
        errors["order_type"] = "请选择工单类型。 (Choose the work-order type.)"
    elif order_type not in ORDER_TYPES:
        errors["order_type"] = f"未知的工单类型「{order_type}」。 (Unknown work-order type.)"
    allowed_sub = SUB_TYPES.get(order_type, ())
    if allowed_sub and sub_type not in allowed_sub:
        errors["sub_type"] = "请选择正确的子类。 (Choose a valid sub-type for this type.)"
    elif not allowed_sub and sub_type:
        errors["sub_type"] = "此类工单没有子类。 (This type has no sub-types.)"
    if channel not in CHANNELS:
        errors["channel"] = f"未知的渠道「{channel}」。 (Unknown channel.)"
    if area_class and area_class not in AREA_VALUES:
        errors["area_class"] = "地区类别应为 urban / rural / remote。 (Unknown area class.)"
    if contact_phone and not PHONE.match(contact_phone):
        errors["contact_phone"] = "联系电话格式不正确。 (Invalid phone number.)"
    found = _lookup(actor, _pk(service_point), _pk(account), _pk(customer), errors)
    if order_type in ORDER_TYPES and not found.get("customer_id") and order_type not in ANONYMOUS_ALLOWED:
        errors["customer"] = (
            "此类工单需要客户、户号或用电地址。 (This type needs a customer, account or service point.)"
        )
    if contact_from_customer and found.get("customer_id") and not (contact_name and contact_phone):
        primary = _primary_contact(found["customer_id"])
        contact_name = contact_name or primary[0]
        contact_phone = contact_phone or primary[1]
    area_text = normalise_area(area_text)
    address = (address or found.get("address") or "").strip()[:200]
    if order_type == OrderType.REPAIR and not (found.get("service_point_id") or address or area_text):
        errors["address"] = "故障报修需要用电地址或故障地点。 (A repair needs a service point or an address.)"
    if len(title) > 120:
        errors["title"] = "主题最长 120 个字符。 (At most 120 characters.)"
    if errors:
        raise InvalidInput(errors)

    station_id = found.get("station_id")
    intake_unit_id = actor.org_unit_id or station_id or _root_unit_id()
    unit_id = station_id or intake_unit_id
    area_class = area_class or found.get("area_class") or "urban"
    order = WorkOrder(
        order_type=order_type,
        sub_type=sub_type,
        channel=channel,
        status=INITIAL_STATUS,
        customer_id=found.get("customer_id"),
        account_id=found.get("account_id"),
        service_point_id=found.get("service_point_id"),
        contact_name=(contact_name or "").strip()[:60],
        contact_phone=contact_phone or "",
        address=address,
        area_text=area_text,
        area_class=area_class,
        is_key_account=bool(found.get("is_key_account")),
        is_important=bool(found.get("is_important")),
        title=(title or "").strip() or str(OrderType(order_type).label),
        description=description or "",
        unit_id=unit_id,
        intake_unit_id=intake_unit_id,
        created_by=actor if actor.pk else None,
        created_at=at,
    )
    steps = [Transition.CREATE]
    new_clocks: list[SLAClock] = []
    master = chosen_master or _find_master(order_type, unit_id, area_text, order.service_point_id, at)
    if master is not None:
        order.master = master
        order.queue_unit_id = master.queue_unit_id
        steps.append(Transition.LINK)
    else:
        new_clocks = clocks.new_clocks(order, clocks.order_policies(order), "intake", at)
        target = (
            rules.route(
                order_type=order_type,
                sub_type=sub_type,
                station_id=station_id,
                area_class=area_class,
                key_account=order.is_key_account,
                account_manager_id=found.get("manager_id"),
                account_manager_unit_id=found.get("manager_unit_id"),
            )
            if auto_dispatch
            else None
        )
        if target is not None:
            order.queue_unit_id = target.queue_unit_id
            order.assignee_id = target.assignee_id
            order.dispatched_at = at
            steps.append(Transition.DISPATCH)
        clocks.summarise(order, new_clocks, at)
    dispatched = target_status(Transition.DISPATCH, INITIAL_STATUS)
    order.status = dispatched if Transition.DISPATCH in steps else INITIAL_STATUS
    history = []
    for step in steps:
        to_status = dispatched if step == Transition.DISPATCH else INITIAL_STATUS
        note = f"→ {master.number}" if step == Transition.LINK and master else ""
        history.append(
            WorkOrderTransition(
                order=order,
                action=step,
                from_status="" if step == Transition.CREATE else INITIAL_STATUS,
                to_status=to_status,
                actor=order.created_by,
                at=at,
                note=note,
            )
        )
    insert_order(order, new_clocks, history)
    audit.record(actor, "service.create_order", order, after=audit.snapshot(order, ORDER_FIELDS))
    return order


# ----------------------------------------------------------------------------------------------- dispatch


def _target(queue_unit: Any, assignee: Any) -> tuple[int | None, int | None]:
    """(queue unit, assignee) from the request; a person alone brings their own unit."""
    unit_id, user_id = _pk(queue_unit), _pk(assignee)
    errors: dict[str, str] = {}
    if user_id is not None:
        row = User.objects.filter(pk=user_id, is_active=True).values("org_unit_id").first()
        if row is None:
            errors["assignee"] = "处理人不存在或已停用。 (Unknown or inactive person.)"
        elif unit_id is None:
            unit_id = row["org_unit_id"]
    if unit_id is not None and not OrgUnit.objects.filter(pk=unit_id, is_active=True).exists():
        errors["queue_unit"] = "处理单位不存在或已停用。 (Unknown or inactive unit.)"
    if errors:
        raise InvalidInput(errors)
    return unit_id, user_id


@action("service.dispatch", permission="workorder.dispatch")
def do_dispatch(
    actor: User,
    order: WorkOrder | int,
    *,
    queue_unit: Any = None,
    assignee: Any = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> WorkOrder:
    """派发 — to the named unit/person, or by the dispatch rules when none is named."""
    at = _now(at)
    order = _load(actor, order)
    _check(order, Transition.DISPATCH)
    unit_id, user_id = _target(queue_unit, assignee)
    if unit_id is None and user_id is None:
        manager = None
        if order.account_id:
            manager = order.account.account_manager if order.account is not None else None
        route = rules.route(
            order_type=order.order_type,
            sub_type=order.sub_type,
            station_id=order.unit_id if order.service_point_id or order.account_id else None,
            area_class=order.area_class,
            key_account=order.is_key_account,
            account_manager_id=manager.pk if manager else None,
            account_manager_unit_id=manager.org_unit_id if manager else None,
        )
        if route is None:
            raise InvalidInput(
                {
                    "queue_unit": "没有匹配的派单规则，请指定处理单位或处理人。 (No rule matches: name a unit or person.)"
                }
            )
        unit_id, user_id = route.queue_unit_id, route.assignee_id
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    order.queue_unit_id, order.assignee_id = unit_id, user_id
    order.status, order.dispatched_at = _to(order, Transition.DISPATCH), at
    return _save_step(actor, "service.dispatch", order, before, Transition.DISPATCH, from_status, at, note)


@action("service.reassign", permission="workorder.reassign")
def do_reassign(
    actor: User,
    order: WorkOrder | int,
    *,
    queue_unit: Any = None,
    assignee: Any = None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> WorkOrder:
    """改派 — a supervisor moves an order to another unit or person; paused clocks resume."""
    at = _now(at)
    reason = _required(reason, "reason", "请填写改派原因。 (A reason is required.)")
    order = _load(actor, order)
    _check(order, Transition.REASSIGN)
    unit_id, user_id = _target(queue_unit, assignee)
    if unit_id is None and user_id is None:
        raise InvalidInput({"queue_unit": "请指定处理单位或处理人。 (Name a unit or a person.)"})
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    open_ = clocks.open_clocks(order)
    if order.status in PAUSED_STATUSES:
        clocks.resume(open_, at)
        order.paused_from = order.pause_reason = ""
    order.queue_unit_id, order.assignee_id = unit_id, user_id
    order.status, order.dispatched_at, order.taken_at = _to(order, Transition.REASSIGN), at, None
    clocks.summarise(order, open_, at)
    return _save_step(actor, "service.reassign", order, before, Transition.REASSIGN, from_status, at, reason)


@action("service.escalate", permission="workorder.reassign")
def do_escalate(
    actor: User, order: WorkOrder | int, *, reason: str, to: Any = None, at: dt.datetime | None = None
) -> WorkOrder:
    """升级 — raise the order one level: the next head up is told (or the named person)."""
    at = _now(at)
    reason = _required(reason, "reason", "请填写升级原因。 (A reason is required.)")
    order = _load(actor, order)
    _check(order, Transition.ESCALATE)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    if to not in (None, "") and not User.objects.filter(pk__in=[_pk(to)], is_active=True).exists():
        raise InvalidInput({"to": "接收人不存在或已停用。 (Unknown or inactive person.)"})
    recipient = _pk(to) or rules.supervisor_for(
        order.queue_unit_id or order.unit_id, exclude=(actor.pk, order.assignee_id)
    )
    order.status = _to(order, Transition.ESCALATE)
    order.escalation_level += 1
    _notify(order, ServiceNotice.Kind.ESCALATION, recipient, reason, at)
    return _save_step(actor, "service.escalate", order, before, Transition.ESCALATE, from_status, at, reason)


# ----------------------------------------------------------------------------------------------- handling


@action("service.take", permission=None)
def do_take(actor: User, order: WorkOrder | int, *, at: dt.datetime | None = None) -> WorkOrder:
    """接单 — the handler accepts the order (an order in a unit queue becomes theirs)."""
    at = _now(at)
    order = _load(actor, order)
    _require_handler(actor, order)
    _check(order, Transition.TAKE)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    order.assignee_id = order.assignee_id or actor.pk
    order.status, order.taken_at = _to(order, Transition.TAKE), at
    return _save_step(actor, "service.take", order, before, Transition.TAKE, from_status, at)


@action("service.start", permission=None)
def do_start(actor: User, order: WorkOrder | int, *, at: dt.datetime | None = None) -> WorkOrder:
    """处理中 — work on the order begins."""
    at = _now(at)
    order = _load(actor, order)
    _require_handler(actor, order)
    _check(order, Transition.START)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    order.status = _to(order, Transition.START)
    return _save_step(actor, "service.start", order, before, Transition.START, from_status, at)


@action("service.arrive", permission=None)
def do_arrive(actor: User, order: WorkOrder | int, *, at: dt.datetime | None = None) -> WorkOrder:
    """到达现场 — stops the arrival clock and starts the restoration clock."""
    at = _now(at)
    order = _load(actor, order)
    _require_handler(actor, order)
    _check(order, Transition.ARRIVE)
    if order.arrival_at is not None:
        raise InvalidInput({"arrival_at": "已记录到达现场时间。 (Arrival already recorded.)"})
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    open_ = clocks.open_clocks(order)
    clocks.finish(open_, [Milestone.ARRIVAL], at)
    started = clocks.new_clocks(order, clocks.order_policies(order), "arrival", at)
    SLAClock.objects.bulk_create(started)
    order.arrival_at, order.status = at, _to(order, Transition.ARRIVE)
    clocks.summarise(order, [c for c in open_ if c.done_at is None] + started, at)
    return _save_step(actor, "service.arrive", order, before, Transition.ARRIVE, from_status, at)


@action("service.restore", permission=None)
def do_restore(actor: User, order: WorkOrder | int, *, at: dt.datetime | None = None) -> WorkOrder:
    """恢复送电 — stops the restoration clock."""
    at = _now(at)
    order = _load(actor, order)
    _require_handler(actor, order)
    _check(order, Transition.RESTORE)
    if order.arrival_at is None:
        raise InvalidInput({"arrival_at": "请先记录到达现场时间。 (Record the arrival first.)"})
    if order.restoration_at is not None:
        raise InvalidInput({"restoration_at": "已记录恢复送电时间。 (Restoration already recorded.)"})
    if at < order.arrival_at:
        raise InvalidInput({"restoration_at": "恢复送电不能早于到达现场。 (Restoration before arrival.)"})
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    open_ = clocks.open_clocks(order)
    clocks.finish(open_, [Milestone.RESTORATION], at)
    order.restoration_at, order.status = at, _to(order, Transition.RESTORE)
    clocks.summarise(order, [c for c in open_ if c.done_at is None], at)
    return _save_step(actor, "service.restore", order, before, Transition.RESTORE, from_status, at)


@action("service.contact", permission=None)
def do_contact(
    actor: User, order: WorkOrder | int, *, note: str = "", at: dt.datetime | None = None
) -> WorkOrder:
    """联系客户 — the first contact stops the first-response clock (e.g. complaints: within 24 h)."""
    at = _now(at)
    order = _load(actor, order)
    _require_handler(actor, order, also=("workorder.create",))
    _check(order, Transition.CONTACT)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    order.status = _to(order, Transition.CONTACT)
    if order.first_response_at is None:
        order.first_response_at = at
        open_ = clocks.open_clocks(order)
        clocks.finish(open_, [Milestone.FIRST_RESPONSE], at)
        clocks.summarise(order, [c for c in open_ if c.done_at is None], at)
    return _save_step(actor, "service.contact", order, before, Transition.CONTACT, from_status, at, note)


def _pause(
    actor: User, order: WorkOrder | int, transition: str, reason: str, at: dt.datetime | None
) -> WorkOrder:
    at = _now(at)
    reason = _required(reason, "reason", "挂起或待客户必须填写原因。 (A reason is required to pause.)")
    order = _load(actor, order)
    _require_handler(actor, order)
    _check(order, transition)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    clocks.pause(clocks.open_clocks(order), at)
    order.paused_from, order.pause_reason = order.status, reason[:200]
    order.status = _to(order, transition)
    return _save_step(actor, f"service.{transition}", order, before, transition, from_status, at, reason)


@action("service.suspend", permission=None)
def do_suspend(
    actor: User, order: WorkOrder | int, *, reason: str, at: dt.datetime | None = None
) -> WorkOrder:
    """挂起 — the clocks stop until resumed; the paused time extends every deadline."""
    return _pause(actor, order, Transition.SUSPEND, reason, at)


@action("service.wait_customer", permission=None)
def do_wait_customer(
    actor: User, order: WorkOrder | int, *, reason: str, at: dt.datetime | None = None
) -> WorkOrder:
    """待客户 — waiting for the customer (access, documents); the clocks stop like a suspension."""
    return _pause(actor, order, Transition.WAIT_CUSTOMER, reason, at)


@action("service.resume", permission=None)
def do_resume(actor: User, order: WorkOrder | int, *, at: dt.datetime | None = None) -> WorkOrder:
    at = _now(at)
    order = _load(actor, order)
    _require_handler(actor, order)
    _check(order, Transition.RESUME)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    open_ = clocks.open_clocks(order)
    clocks.resume(open_, at)
    order.status = _to(order, Transition.RESUME)
    order.paused_from = order.pause_reason = ""
    clocks.summarise(order, open_, at)
    return _save_step(actor, "service.resume", order, before, Transition.RESUME, from_status, at)


def _close_duplicates(actor: User, master: WorkOrder, at: dt.datetime) -> None:
    """Calls linked to a master are answered with it (随主单办结): archived in bulk, each with history."""
    children = list(
        WorkOrder.objects.select_for_update().filter(master=master, status__in=OPEN_STATUSES).order_by("pk")
    )
    if not children:
        return
    note = f"随主单 {master.number} 办结 (closed with master order)"
    archived = target_status(Transition.ARCHIVE, Status.RETURNED)
    for child in children:
        child.status, child.result, child.cause = archived, master.result, master.cause
        child.arrival_at, child.restoration_at = master.arrival_at, master.restoration_at
        child.answered_at = child.closed_at = at
        child.first_response_at = child.first_response_at or at
    WorkOrder.objects.bulk_update(
        children,
        [
            "status",
            "result",
            "cause",
            "arrival_at",
            "restoration_at",
            "answered_at",
            "closed_at",
            "first_response_at",
        ],
    )
    WorkOrderTransition.objects.bulk_create(
        WorkOrderTransition(
            order=c,
            action=Transition.ARCHIVE,
            from_status=INITIAL_STATUS,
            to_status=archived,
            actor=actor if actor.pk else None,
            at=at,
            note=note,
        )
        for c in children
    )
    audit.bulk_record(
        actor,
        "service.close_duplicate",
        (
            {
                "object_type": "service.workorder",
                "object_id": c.pk,
                "object_repr": str(c),
                "after": {"status": archived},
                "note": note,
            }
            for c in children
        ),
    )


@action("service.reply", permission=None)
def do_reply(
    actor: User, order: WorkOrder | int, *, result: str, cause: str = "", at: dt.datetime | None = None
) -> WorkOrder:
    """回单 — the handler reports the result; from 受理 it is a first-contact resolution (一次办结) by the desk.
    Starts the callback clock; linked duplicate calls are closed with the master."""
    at = _now(at)
    order = _load(actor, order)
    first_contact = order.status == Status.ACCEPTED
    if first_contact:
        require_perm(actor, "workorder.create")
    else:
        _require_handler(actor, order)
    _check(order, Transition.REPLY)
    errors: dict[str, str] = {}
    if not (result or "").strip():
        errors["result"] = "请填写处理结果。 (Describe the result.)"
    if cause and cause not in Cause.values:
        errors["cause"] = f"未知的原因分类「{cause}」。 (Unknown cause.)"
    if order.order_type in (OrderType.COMPLAINT, OrderType.REPAIR) and not cause:
        errors["cause"] = "投诉和报修回单必须选择原因分类。 (Choose the cause.)"
    if order.order_type == OrderType.REPAIR and not first_contact and order.master_id is None:
        if order.arrival_at is None:
            errors["arrival_at"] = "故障报修回单前须记录到达现场时间。 (Record the arrival first.)"
        elif order.restoration_at is None:
            errors["restoration_at"] = "故障报修回单前须记录恢复送电时间。 (Record the restoration first.)"
    if errors:
        raise InvalidInput(errors)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    open_ = clocks.open_clocks(order)
    clocks.finish(open_, None, at)
    started = clocks.new_clocks(order, clocks.order_policies(order), "returned", at)
    SLAClock.objects.bulk_create(started)
    order.status, order.result, order.cause = _to(order, Transition.REPLY), result.strip(), cause
    order.answered_at = at
    order.first_response_at = order.first_response_at or at
    order.first_contact_resolution = first_contact
    clocks.summarise(order, started, at)
    _save_step(actor, "service.reply", order, before, Transition.REPLY, from_status, at)
    _close_duplicates(actor, order, at)
    return order


def _callback_required(order: WorkOrder) -> bool:
    return Milestone.CALLBACK in clocks.order_policies(order)


def _reopen(actor: User, order: WorkOrder, reason: str, at: dt.datetime) -> None:
    """Back to the handler: the handling clocks start again from now."""
    clocks.finish(clocks.open_clocks(order), None, at)
    policies = {m: p for m, p in clocks.order_policies(order).items() if m != Milestone.FIRST_RESPONSE}
    started = clocks.new_clocks(order, policies, "intake", at)
    SLAClock.objects.bulk_create(started)
    order.status, order.reopen_count = _to(order, Transition.REOPEN), order.reopen_count + 1
    order.dispatched_at, order.taken_at = at, None
    order.answered_at = order.callback_at = order.closed_at = None
    if order.order_type == OrderType.REPAIR:
        order.arrival_at = order.restoration_at = None
    clocks.summarise(order, started, at)


@action("service.callback", permission="workorder.close")
def do_callback(
    actor: User,
    order: WorkOrder | int,
    *,
    reached: bool = True,
    satisfaction: int | None = None,
    reason: str = "",
    on_unsatisfied: str = "reopen",
    at: dt.datetime | None = None,
) -> WorkOrder:
    """回访 — satisfaction 1–5; at or below the threshold (default 2) the order is reopened or escalated."""
    at = _now(at)
    order = _load(actor, order)
    _check(order, Transition.CALLBACK)
    errors: dict[str, str] = {}
    if reached:
        if satisfaction is None or not (isinstance(satisfaction, int) and 1 <= satisfaction <= 5):
            errors["satisfaction"] = "满意度应为 1–5 分。 (Satisfaction must be 1 to 5.)"
    elif satisfaction is not None:
        errors["satisfaction"] = (
            "未联系上客户时不能记录满意度。 (No satisfaction when the customer was not reached.)"
        )
    threshold = int(conf("UNSATISFIED_AT_MOST"))
    unsatisfied = reached and isinstance(satisfaction, int) and satisfaction <= threshold
    if (unsatisfied or not reached) and not (reason or "").strip():
        errors["reason"] = "不满意或未联系上时须填写原因。 (A reason is required.)"
    if on_unsatisfied not in ("reopen", "escalate"):
        errors["on_unsatisfied"] = "应为 reopen 或 escalate。 (Must be reopen or escalate.)"
    if errors:
        raise InvalidInput(errors)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    open_ = clocks.open_clocks(order)
    clocks.finish(open_, [Milestone.CALLBACK], at)
    outcome = "closed"
    order.status, order.callback_at = _to(order, Transition.CALLBACK), at
    if unsatisfied and on_unsatisfied == "reopen":
        outcome = "reopened"
        _reopen(actor, order, reason, at)
    elif unsatisfied:
        outcome = "escalated"
        order.escalation_level += 1
        recipient = rules.supervisor_for(order.queue_unit_id or order.unit_id, exclude=(order.assignee_id,))
        _notify(order, ServiceNotice.Kind.ESCALATION, recipient, f"回访不满意：{reason}", at)
        clocks.summarise(order, [c for c in open_ if c.done_at is None], at)
    else:
        clocks.summarise(order, [c for c in open_ if c.done_at is None], at)
    Callback.objects.create(
        order=order,
        at=at,
        by=actor if actor.pk else None,
        reached=reached,
        satisfaction=satisfaction,
        reason=(reason or "").strip()[:300],
        outcome=outcome,
    )
    note = f"{satisfaction or '-'} {reason}".strip()
    return _save_step(actor, "service.callback", order, before, Transition.CALLBACK, from_status, at, note)


@action("service.archive", permission="workorder.close")
def do_archive(actor: User, order: WorkOrder | int, *, at: dt.datetime | None = None) -> WorkOrder:
    """归档 — after the callback (or straight after 回单 for types without a callback rule, e.g. 咨询)."""
    at = _now(at)
    order = _load(actor, order)
    _check(order, Transition.ARCHIVE)
    if order.status == Status.RETURNED and _callback_required(order):
        raise InvalidTransition(
            order.status, Transition.ARCHIVE, [Transition.CALLBACK, Transition.REOPEN, Transition.ESCALATE]
        )
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    clocks.finish(clocks.open_clocks(order), None, at)
    order.status, order.closed_at = _to(order, Transition.ARCHIVE), at
    order.due_at = order.warn_at = None
    return _save_step(actor, "service.archive", order, before, Transition.ARCHIVE, from_status, at)


@action("service.reopen", permission=None)
def do_reopen(
    actor: User, order: WorkOrder | int, *, reason: str, at: dt.datetime | None = None
) -> WorkOrder:
    """重新处理 — the customer is not helped after all: back to the handler with fresh handling clocks."""
    at = _now(at)
    if not (has_perm(actor, "workorder.close") or has_perm(actor, "workorder.reassign")):
        require_perm(actor, "workorder.close")
    reason = _required(reason, "reason", "请填写重新处理原因。 (A reason is required.)")
    order = _load(actor, order)
    _check(order, Transition.REOPEN)
    before, from_status = audit.snapshot(order, STATE_FIELDS), order.status
    _reopen(actor, order, reason, at)
    return _save_step(actor, "service.reopen", order, before, Transition.REOPEN, from_status, at, reason)


# ----------------------------------------------------------------------------------------------- after-sales


def _open_for_field_work(actor: User, order: WorkOrder | int) -> WorkOrder:
    order = _load(actor, order)
    _require_handler(actor, order)
    if order.status not in (Status.TAKEN, Status.PROCESSING, *PAUSED_STATUSES):
        raise InvalidTransition(order.status, "field_work", allowed_transitions(order.status))
    return order


@action("service.record_repair", permission=None)
def do_record_repair(
    actor: User,
    order: WorkOrder | int,
    *,
    cause: str,
    fault: str,
    work_done: str,
    is_paid_service: bool = False,
    at: dt.datetime | None = None,
) -> RepairRecord:
    """维修记录单 — what was found and done on site."""
    errors: dict[str, str] = {}
    if cause not in Cause.values:
        errors["cause"] = "请选择故障原因。 (Choose the fault cause.)"
    if not (fault or "").strip():
        errors["fault"] = "请填写故障情况。 (Describe the fault.)"
    if not (work_done or "").strip():
        errors["work_done"] = "请填写处理情况。 (Describe the work done.)"
    if errors:
        raise InvalidInput(errors)
    order = _open_for_field_work(actor, order)
    record = RepairRecord.objects.create(
        order=order,
        technician=actor,
        cause=cause,
        fault=fault.strip(),
        work_done=work_done.strip(),
        is_paid_service=is_paid_service,
        created_at=_now(at),
    )
    audit.record(
        actor,
        "service.record_repair",
        record,
        after=audit.snapshot(record, ["order_id", "cause", "fault", "work_done", "is_paid_service"]),
    )
    return record


def _quantity(value: Any) -> int:
    try:
        quantity = int(value)
    except (TypeError, ValueError):
        quantity = 0
    if isinstance(value, bool) or quantity < 1:
        raise InvalidInput({"quantity": "数量应为正整数。 (Quantity must be a positive whole number.)"})
    return quantity


def _locked_stock(item: Any) -> StockItem | None:
    pk = _pk(item)
    return StockItem.objects.select_for_update().filter(pk=pk).first() if pk is not None else None


@action("service.issue_stock", permission=None)
def do_issue_stock(
    actor: User, order: WorkOrder | int, *, item: Any, quantity: Any, at: dt.datetime | None = None
) -> StockMovement:
    """领用 — a part or tool leaves the store for this order; the store can never go below zero."""
    quantity = _quantity(quantity)
    order = _open_for_field_work(actor, order)
    stock = _locked_stock(item)
    if stock is None:
        raise InvalidInput({"item": "备件/工具不存在。 (Unknown stock item.)"})
    if stock.quantity < quantity:
        raise InvalidInput(
            {
                "quantity": f"库存不足：{stock.name} 现有 {stock.quantity}{stock.unit_of_measure}。 (Not enough in stock: {stock.quantity}.)"
            }
        )
    StockItem.objects.filter(pk=stock.pk).update(quantity=F("quantity") - quantity)
    movement = StockMovement.objects.create(
        order=order,
        item=stock,
        kind=StockMovement.Kind.ISSUE,
        quantity=quantity,
        technician=actor,
        at=_now(at),
    )
    audit.record(
        actor,
        "service.issue_stock",
        movement,
        before={"on_hand": stock.quantity},
        after={"on_hand": stock.quantity - quantity, "order": order.number, "quantity": quantity},
    )
    return movement


def issued_outstanding(order_id: int, item_id: int) -> int:
    """Issued minus returned of one item on one order."""
    totals = {
        row["kind"]: row["total"]
        for row in StockMovement.objects.filter(order_id=order_id, item_id=item_id)
        .values("kind")
        .annotate(total=Sum("quantity"))
    }
    return int(totals.get(StockMovement.Kind.ISSUE, 0)) - int(totals.get(StockMovement.Kind.RETURN, 0))


@action("service.return_stock", permission=None)
def do_return_stock(
    actor: User, order: WorkOrder | int, *, item: Any, quantity: Any, at: dt.datetime | None = None
) -> StockMovement:
    """归还 — unused parts and tools come back; never more than was issued on this order."""
    quantity = _quantity(quantity)
    order = _load(actor, order)
    _require_handler(actor, order)
    stock = _locked_stock(item)
    if stock is None:
        raise InvalidInput({"item": "备件/工具不存在。 (Unknown stock item.)"})
    outstanding = issued_outstanding(order.pk, stock.pk)
    if quantity > outstanding:
        raise InvalidInput(
            {
                "quantity": f"归还数量超过领用未还数量 {outstanding}。 (More than the {outstanding} issued and not returned.)"
            }
        )
    StockItem.objects.filter(pk=stock.pk).update(quantity=F("quantity") + quantity)
    movement = StockMovement.objects.create(
        order=order,
        item=stock,
        kind=StockMovement.Kind.RETURN,
        quantity=quantity,
        technician=actor,
        at=_now(at),
    )
    audit.record(
        actor,
        "service.return_stock",
        movement,
        before={"on_hand": stock.quantity},
        after={"on_hand": stock.quantity + quantity, "order": order.number, "quantity": quantity},
    )
    return movement


def parse_amount(value: Any) -> Decimal:
    """An amount in 元 with at most 2 decimals, above zero (floats are refused: money is never float)."""
    if isinstance(value, float):
        raise InvalidInput({"amount": "金额请以文本或 Decimal 传入。 (Send the amount as text, not float.)"})
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput({"amount": "金额格式不正确。 (Invalid amount.)"}) from None
    if not amount.is_finite() or amount <= 0 or decimal_exponent(amount) < -2 or amount >= Decimal("1e10"):
        raise InvalidInput({"amount": "金额应大于 0，最多两位小数。 (Positive, at most 2 decimals.)"})
    return amount.quantize(Decimal("0.01"))


@action("service.record_fee", permission=None)
def do_record_fee(
    actor: User, order: WorkOrder | int, *, description: str, amount: Any, at: dt.datetime | None = None
) -> ServiceFee:
    """有偿服务费 — recorded now, billed later by the billing run."""
    amount = parse_amount(amount)
    description = _required(description, "description", "请填写收费项目。 (Describe the charge.)")
    order = _load(actor, order)
    _require_handler(actor, order)
    fee = ServiceFee.objects.create(
        order=order, description=description[:120], amount=amount, recorded_by=actor, recorded_at=_now(at)
    )
    audit.record(
        actor, "service.record_fee", fee, after=audit.snapshot(fee, ["order_id", "description", "amount"])
    )
    return fee


# ----------------------------------------------------------------------------------------------- compensation

COMPENSATION_FIELDS = ["order_id", "amount", "reason", "status", "decided_by_id", "decision_note"]


@action("service.propose_compensation", permission="workorder.create")
def do_propose_compensation(
    actor: User, order: WorkOrder | int, *, amount: Any, reason: str, at: dt.datetime | None = None
) -> Compensation:
    """服务补偿 — propose a credit to the customer's account for a service failure on this order."""
    amount = parse_amount(amount)
    reason = _required(reason, "reason", "请填写补偿原因。 (Give the reason for the compensation.)")
    order = _load(actor, order)
    if order.account_id is None:
        raise InvalidInput(
            {
                "order": "工单没有关联户号，补偿无处入账。 (The order has no account to credit the compensation to.)"
            }
        )
    compensation = Compensation.objects.create(
        order=order, amount=amount, reason=reason[:200], proposed_by=actor, proposed_at=_now(at)
    )
    audit.record(
        actor,
        "service.propose_compensation",
        compensation,
        after=audit.snapshot(compensation, COMPENSATION_FIELDS),
    )
    return compensation


def _decide(
    actor: User, compensation: Compensation | int, status: str, note: str, at: dt.datetime | None
) -> Compensation:
    queryset = Compensation.objects.select_for_update(of=("self",)).select_related("order")
    compensation = get_in_scope(queryset, actor, write=True, pk=_pk(compensation))
    if compensation.status != Compensation.Status.PROPOSED:
        raise Conflict(
            f"此补偿已{compensation.get_status_display()}，不能再审批。 (This compensation was already decided.)"
        )
    if compensation.proposed_by_id == actor.pk:
        raise PermissionRefused("不能审批自己提出的补偿。 (You cannot decide a compensation you proposed.)")
    if status == Compensation.Status.APPROVED:
        check_limit(actor, "service_compensation", compensation.amount)
    before = audit.snapshot(compensation, COMPENSATION_FIELDS)
    compensation.status = status
    compensation.decided_by = actor
    compensation.decided_at = _now(at)
    compensation.decision_note = (note or "").strip()[:200]
    compensation.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    old, new = audit.diff(before, audit.snapshot(compensation, COMPENSATION_FIELDS))
    action_code = (
        "service.approve_compensation"
        if status == Compensation.Status.APPROVED
        else "service.reject_compensation"
    )
    audit.record(actor, action_code, compensation, before=old, after=new, note=compensation.decision_note)
    return compensation


@action("service.approve_compensation", permission="compensation.approve")
def do_approve_compensation(
    actor: User, compensation: Compensation | int, *, note: str = "", at: dt.datetime | None = None
) -> Compensation:
    """审批补偿 — within the approver's authority limit; above it the refusal names who may approve."""
    return _decide(actor, compensation, Compensation.Status.APPROVED, note, at)


@action("service.reject_compensation", permission="compensation.approve")
def do_reject_compensation(
    actor: User, compensation: Compensation | int, *, note: str, at: dt.datetime | None = None
) -> Compensation:
    """驳回补偿 — with the reason."""
    note = _required(note, "note", "请填写驳回理由。 (Give the reason for rejecting.)")
    return _decide(actor, compensation, Compensation.Status.REJECTED, note, at)


# ----------------------------------------------------------------------------------------------- rules as data


POLICY_FIELDS = [
    "order_type",
    "sub_type",
    "area_class",
    "milestone",
    "clock",
    "amount",
    "warn_ratio",
    "valid_from",
    "valid_to",
]


def _forget_rules() -> None:
    rules.forget_rules()
    after_commit(rules.forget_rules)


@action("service.update_policy", permission="sla.manage")
def do_update_policy(actor: User, policy: SLAPolicy, **changes: Any) -> SLAPolicy:
    """Edit an SLA policy (amount, clock kind, warning ratio, validity); running clocks keep their rule."""
    allowed = {"amount", "clock", "warn_ratio", "valid_to"}
    unknown = set(changes) - allowed
    errors: dict[str, str] = {f: "此字段不能在此修改。 (Not editable here.)" for f in sorted(unknown)}
    if "amount" in changes and (not isinstance(changes["amount"], int) or changes["amount"] < 1):
        errors["amount"] = "时限应为正整数。 (A positive whole number.)"
    if "clock" in changes and changes["clock"] not in ClockKind.values:
        errors["clock"] = "未知的计时方式。 (Unknown clock kind.)"
    if "warn_ratio" in changes:
        try:
            ratio = Decimal(str(changes["warn_ratio"]))
        except InvalidOperation:
            ratio = Decimal(0)
        if not Decimal("0.01") <= ratio <= Decimal("0.99") or decimal_exponent(ratio) < -2:
            errors["warn_ratio"] = "预警比例应在 0.01–0.99 之间。 (Between 0.01 and 0.99.)"
        changes["warn_ratio"] = ratio
    if errors:
        raise InvalidInput(errors)
    policy = SLAPolicy.objects.select_for_update().get(pk=policy.pk)
    before = audit.snapshot(policy, POLICY_FIELDS)
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.save()
    old, new = audit.diff(before, audit.snapshot(policy, POLICY_FIELDS))
    audit.record(actor, "service.update_policy", policy, before=old, after=new)
    _forget_rules()
    return policy


@action("service.load_defaults", permission="sla.manage")
def do_load_defaults(actor: User, data: Mapping[str, Any]) -> dict[str, int]:
    """Create or update the SLA policies and dispatch rules of the defaults file (idempotent)."""
    policies = 0
    for row in data.get("sla_policies", []):
        for area_class, amount in (row.get("by_area") or {"": row.get("amount")}).items():
            SLAPolicy.objects.update_or_create(
                order_type=row["order_type"],
                sub_type=row.get("sub_type", ""),
                area_class=area_class,
                milestone=row["milestone"],
                valid_from=row.get("valid_from", "2023-01-01"),
                defaults={
                    "clock": row["clock"],
                    "amount": int(amount),
                    "warn_ratio": Decimal(str(row.get("warn_ratio", "0.80"))),
                    "source": row.get("source", ""),
                },
            )
            policies += 1
    units = dict(OrgUnit.objects.values_list("code", "id"))
    rules_loaded = 0
    for row in data.get("dispatch_rules", []):
        unit_code = row.get("target_unit")
        if unit_code and unit_code not in units:
            continue  # an organisation without that unit: the rule does not apply
        DispatchRule.objects.update_or_create(
            name=row["name"],
            defaults={
                "priority": row["priority"],
                "order_type": row.get("order_type", ""),
                "sub_type": row.get("sub_type", ""),
                "area_class": row.get("area_class", ""),
                "key_account": row.get("key_account"),
                "has_station": row.get("has_station"),
                "target": row["target"],
                "target_unit_id": units.get(unit_code) if unit_code else None,
                "station_id": units.get(row["station"]) if row.get("station") else None,
            },
        )
        rules_loaded += 1
    counts = {"sla_policies": policies, "dispatch_rules": rules_loaded}
    audit.record(actor, "service.load_defaults", object_type="service.slapolicy", object_id="*", after=counts)
    _forget_rules()
    return counts


@action("service.sla_sweep", permission=None)
def do_sla_sweep(actor: User, *, now: dt.datetime | None = None) -> clocks.SweepResult:
    """The SLA sweep (batch job): warnings and escalations for every open clock, one summary audit row and one
    row per escalated order (as :func:`do_escalate` writes). One run at a time (:func:`job_lock`; a second
    raises :class:`~gridcare.core.locks.JobBusy`), and each warning and escalation is claimed in the database."""
    with job_lock("service.sla_sweep"):
        result = clocks.sweep(now)
        if result.escalated_orders:
            audit.bulk_record(actor, "service.escalate", result.escalated_orders)
        audit.record(
            actor,
            "service.sla_sweep",
            object_type="service.slaclock",
            object_id="*",
            after=result.as_dict(),
            note=_("Durations in seconds: %(timings)s")
            % {"timings": "、".join(f"{stage} {seconds:.3f}" for stage, seconds in result.timings.items())},
        )
    return result
