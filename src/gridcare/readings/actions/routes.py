"""Routes (抄表段) and the monthly reading plan (抄表计划): create, re-order, split, merge, generate tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db.models import Max, Q

from gridcare.core import audit
from gridcare.core.access import get_in_scope, has_perm, restrict
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput
from gridcare.core.locks import job_lock
from gridcare.customers.models import ServicePoint
from gridcare.engine.vee import DEFAULT_PARAMS, DEFAULT_RULES
from gridcare.metering.models import Installation
from gridcare.org.models import OrgUnit, User
from gridcare.readings.models import ReadingTask, Route, RouteStop, VeeRuleSetting
from gridcare.readings.periods import next_month, parse_period

ROUTE_FIELDS = [
    "number",
    "name",
    "org_unit_id",
    "reader_id",
    "reading_day",
    "frequency",
    "mode",
    "remote_since",
]


def _route_errors(
    *, number: str, name: str, reader: User | None, reading_day: Any, frequency: str, mode: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not number.strip():
        errors["number"] = "必填。 (Required.)"
    elif Route.objects.filter(number=number.strip()).exists():
        errors["number"] = f"抄表段编号「{number}」已存在。 (Route number already exists.)"
    if not name.strip():
        errors["name"] = "必填。 (Required.)"
    if not (isinstance(reading_day, int) and 1 <= reading_day <= 28):
        errors["reading_day"] = "抄表例日应在 1–28 之间。 (The reading day must be 1–28.)"
    if frequency not in Route.Frequency.values:
        errors["frequency"] = f"未知的抄表周期「{frequency}」。 (Unknown frequency.)"
    if mode not in Route.Mode.values:
        errors["mode"] = f"未知的抄表方式「{mode}」。 (Unknown reading mode.)"
    if reader is not None and (not reader.is_active or reader.left_on is not None):
        errors["reader"] = "抄表员已离岗或停用。 (The reader has left or is inactive.)"
    elif reader is not None and not has_perm(reader, "reading.enter"):
        errors["reader"] = "该人员没有录入抄表数据的权限。 (This person may not enter readings.)"
    return errors


def _points_for(actor: User, point_ids: Sequence[int], route: Route | None = None) -> list[int]:
    """The service points (in the given order) if every one is in the actor's scope and on no other route."""
    ids = [int(p) for p in point_ids]
    if len(set(ids)) != len(ids):
        raise InvalidInput({"service_points": "用电地址重复。 (A service point is listed twice.)"})
    found = set(
        restrict(ServicePoint.objects.filter(pk__in=ids), actor, write=True).values_list("pk", flat=True)
    )
    missing = [p for p in ids if p not in found]
    if missing:
        raise InvalidInput(
            {
                "service_points": f"未找到用电地址或不在您的数据范围内：{missing}。 (Service points not found or outside your scope.)"
            }
        )
    taken = RouteStop.objects.filter(service_point_id__in=ids)
    if route is not None:
        taken = taken.exclude(route=route)
    on_other = list(taken.values_list("service_point__number", flat=True))
    if on_other:
        raise InvalidInput(
            {"service_points": f"用电地址已在其他抄表段：{', '.join(on_other)}。 (Already on another route.)"}
        )
    return ids


@action("readings.create_route", permission="reading.manage_routes")
def do_create_route(
    actor: User,
    *,
    number: str,
    name: str,
    org_unit: OrgUnit,
    reading_day: int,
    reader: User | None = None,
    frequency: str = Route.Frequency.MONTHLY,
    mode: str = Route.Mode.MANUAL,
    remote_since: dt.date | None = None,
    service_points: Sequence[int] = (),
) -> Route:
    """新建抄表段 — a route with its reader, reading day and service points in walking order."""
    errors = _route_errors(
        number=number, name=name, reader=reader, reading_day=reading_day, frequency=frequency, mode=mode
    )
    if errors:
        raise InvalidInput(errors)
    get_in_scope(OrgUnit.objects.all(), actor, write=True, pk=org_unit.pk)
    points = _points_for(actor, service_points)
    route = Route.objects.create(
        number=number.strip(),
        name=name.strip(),
        org_unit=org_unit,
        reader=reader,
        reading_day=reading_day,
        frequency=frequency,
        mode=mode,
        remote_since=remote_since if mode == Route.Mode.REMOTE else None,
    )
    RouteStop.objects.bulk_create(
        RouteStop(route=route, service_point_id=point, sequence=index)
        for index, point in enumerate(points, 1)
    )
    audit.record(
        actor,
        "readings.create_route",
        route,
        after={**audit.snapshot(route, ROUTE_FIELDS), "service_points": points},
    )
    return route


def _locked_route(actor: User, route: Route) -> Route:
    get_in_scope(Route.objects.all(), actor, write=True, pk=route.pk)
    return Route.objects.select_for_update().get(pk=route.pk)


def _stop_order(route: Route) -> list[int]:
    return list(route.stops.order_by("sequence", "pk").values_list("service_point_id", flat=True))


def _renumber(route: Route, points: Sequence[int]) -> None:
    """Give the route's stops the sequence of ``points`` (1, 2, …) and its open tasks the same order."""
    stops = {s.service_point_id: s for s in RouteStop.objects.filter(route=route)}
    for index, point in enumerate(points, 1):
        stops[point].sequence = index
    RouteStop.objects.bulk_update(stops.values(), ["sequence"])
    tasks = list(ReadingTask.objects.filter(route=route, status=ReadingTask.Status.PENDING))
    for task in tasks:
        task.sequence = stops[task.service_point_id].sequence if task.service_point_id in stops else 0
    ReadingTask.objects.bulk_update(tasks, ["sequence"])


@action("readings.reorder_route", permission="reading.manage_routes")
def do_reorder_route(actor: User, route: Route, *, service_points: Sequence[int]) -> Route:
    """调整抄表顺序 — the route's service points in a new walking order (exactly the same set)."""
    route = _locked_route(actor, route)
    before = _stop_order(route)
    order = [int(p) for p in service_points]
    if sorted(order) != sorted(before) or len(set(order)) != len(order):
        raise InvalidInput(
            {
                "service_points": "新顺序须恰好包含本抄表段的全部用电地址。 (List exactly the route's service points.)"
            }
        )
    _renumber(route, order)
    audit.record(actor, "readings.reorder_route", route, before={"order": before}, after={"order": order})
    return route


def _move_stops(source: Route, target: Route, points: Sequence[int]) -> int:
    """Move the stops of ``points`` (in their current order) to the end of ``target``, with their open tasks."""
    start = target.stops.aggregate(last=Max("sequence"))["last"] or 0
    stops = list(
        RouteStop.objects.filter(route=source, service_point_id__in=points).order_by("sequence", "pk")
    )
    for offset, stop in enumerate(stops, 1):
        stop.route = target
        stop.sequence = start + offset
    RouteStop.objects.bulk_update(stops, ["route", "sequence"])
    moved_tasks = ReadingTask.objects.filter(
        route=source, service_point_id__in=points, status=ReadingTask.Status.PENDING
    ).update(route=target, reader=target.reader)
    _renumber(target, _stop_order(target))
    return moved_tasks


@action("readings.split_route", permission="reading.manage_routes")
def do_split_route(
    actor: User,
    route: Route,
    *,
    service_points: Sequence[int],
    number: str,
    name: str,
    reader: User | None = None,
) -> Route:
    """拆分抄表段 — move some service points (with their open tasks) to a new route on the same reading day."""
    route = _locked_route(actor, route)
    current = set(_stop_order(route))
    moving = [int(p) for p in service_points]
    if not moving or not set(moving) <= current or set(moving) == current:
        raise InvalidInput(
            {
                "service_points": "请选择本抄表段的部分（非全部）用电地址。 (Choose some, not all, of the route's service points.)"
            }
        )
    errors = _route_errors(
        number=number,
        name=name,
        reader=reader,
        reading_day=route.reading_day,
        frequency=route.frequency,
        mode=route.mode,
    )
    if errors:
        raise InvalidInput(errors)
    new = Route.objects.create(
        number=number.strip(),
        name=name.strip(),
        org_unit=route.org_unit,
        reader=reader if reader is not None else route.reader,
        reading_day=route.reading_day,
        frequency=route.frequency,
        mode=route.mode,
        remote_since=route.remote_since,
    )
    tasks = _move_stops(route, new, moving)
    _renumber(route, _stop_order(route))
    audit.record(
        actor,
        "readings.split_route",
        route,
        after={"new_route": new.number, "service_points": moving, "open_tasks_moved": tasks},
    )
    audit.record(actor, "readings.create_route", new, after=audit.snapshot(new, ROUTE_FIELDS))
    return new


@action("readings.merge_routes", permission="reading.manage_routes")
def do_merge_routes(actor: User, target: Route, source: Route) -> Route:
    """合并抄表段 — append ``source``'s service points (and open tasks) to ``target``; ``source`` is retired."""
    if target.pk == source.pk:
        raise InvalidInput({"source": "不能与自身合并。 (A route cannot be merged into itself.)"})
    first, second = sorted([target, source], key=lambda r: r.pk)  # lock in primary-key order
    _locked_route(actor, first)
    _locked_route(actor, second)
    target = Route.objects.get(pk=target.pk)
    source = Route.objects.get(pk=source.pk)
    points = _stop_order(source)
    tasks = _move_stops(source, target, points)
    source.active = False
    source.save(update_fields=["active"])
    audit.record(
        actor,
        "readings.merge_routes",
        target,
        after={"merged_route": source.number, "service_points": points, "open_tasks_moved": tasks},
    )
    audit.record(actor, "readings.merge_routes", source, before={"active": True}, after={"active": False})
    return target


def reads_in(route: Route, start: dt.date) -> bool:
    """Whether the route is read in the month starting ``start`` (bi-monthly routes: even months)."""
    return route.frequency == Route.Frequency.MONTHLY or start.month % 2 == 0


@action("readings.generate_plan", permission="reading.manage_routes")
def do_generate_plan(actor: User, *, period: str, routes: Sequence[Route] | None = None) -> int:
    """生成抄表计划 — one task per register of every meter installed at a route's service point during the
    period (also meters installed, exchanged or removed in it; a removed meter's task is done by its final read). Set-based; a second run creates nothing, and
    two runs at once are kept apart by the job lock and the unique (period, meter, register) constraint."""
    start = parse_period(period)
    end = next_month(start)
    with job_lock(f"readings.generate_plan.{period}"):
        chosen = restrict(Route.objects.filter(active=True), actor, write=True)
        if routes is not None:
            chosen = chosen.filter(pk__in=[r.pk for r in routes])
        by_id = {r.pk: r for r in chosen if reads_in(r, start)}
        rows = (
            Installation.objects.filter(
                service_point__route_stop__route_id__in=list(by_id),
                installed_on__lt=end,
            )
            .filter(Q(removed_on__isnull=True) | Q(removed_on__gte=start))
            .values_list(
                "meter_id",
                "removed_on",
                "meter__registers",
                "service_point_id",
                "service_point__route_stop__route_id",
                "service_point__route_stop__sequence",
            )
        )
        existing = set(
            ReadingTask.objects.filter(period=period, route_id__in=list(by_id)).values_list(
                "meter_id", "register"
            )
        )
        tasks = []
        for meter, removed_on, registers, point, route_id, sequence in rows:
            route = by_id[route_id]
            for register in registers or []:
                if (meter, register) in existing:
                    continue
                existing.add((meter, register))
                tasks.append(
                    ReadingTask(
                        route=route,
                        period=period,
                        meter_id=meter,
                        register=register,
                        service_point_id=point,
                        sequence=sequence,
                        due_date=start.replace(day=route.reading_day),
                        reader=route.reader,
                        # a meter removed in the period was read at its removal (拆表止度): nothing left to read
                        status=ReadingTask.Status.PENDING
                        if removed_on is None
                        else ReadingTask.Status.VALIDATED,
                    )
                )
        created = ReadingTask.objects.bulk_create(tasks, batch_size=2000, ignore_conflicts=True)
        audit.record(
            actor,
            "readings.generate_plan",
            object_type="readings.plan",
            object_id=period,
            object_repr=f"抄表计划 {period}",
            after={"routes": len(by_id), "tasks": len(created)},
        )
    return len(created)


@action("readings.load_vee_defaults", permission=None)
def do_load_vee_defaults(actor: Any) -> int:
    """Store the engine's default VEE rules that are not stored yet (edited rules are kept as they are)."""
    known = set(VeeRuleSetting.objects.values_list("code", flat=True))
    missing = [
        VeeRuleSetting(
            code=rule.code, severity=rule.severity, params={**DEFAULT_PARAMS[rule.code], **rule.params}
        )
        for rule in DEFAULT_RULES
        if rule.code not in known
    ]
    VeeRuleSetting.objects.bulk_create(missing)
    audit.record(
        actor,
        "readings.load_vee_defaults",
        object_type="readings.veerulesetting",
        object_id="*",
        after={"created": [r.code for r in missing]},
    )
    return len(missing)
