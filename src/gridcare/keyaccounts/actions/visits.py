"""Visit plans and visit records (大客户回访计划 / 回访记录)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope, restrict
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.customers.models import Account
from gridcare.keyaccounts.conf import visits_per_year
from gridcare.keyaccounts.models import KeyAccount, Visit, VisitPlanItem
from gridcare.org.models import User

PLAN_FIELDS = ["year", "manager_id", "account_id", "planned_on", "status", "visit_id"]
VISIT_FIELDS = ["account_id", "manager_id", "visited_on", "people_met", "topics", "demands", "follow_up"]


def planned_dates(year: int, count: int) -> list[dt.date]:
    """``count`` dates spread evenly over the year: the middle of each of ``count`` equal parts."""
    if count <= 0:
        return []
    start = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - start).days
    return [start + dt.timedelta(days=int(days * (2 * i + 1) / (2 * count))) for i in range(count)]


@action("keyaccounts.generate_plan", permission="keyaccount.manage")
def do_generate_visit_plan(actor: User, *, year: int, manager: User | None = None) -> int:
    """The annual visit plan: for every active key account in the actor's scope (of ``manager`` if given) with
    a manager, as many visits as its grade's frequency (setting ``VISITS_PER_YEAR``). Accounts that already
    have a plan for the year are left as they are, so running it again adds only the new key accounts."""
    if not 2000 <= year <= 2999:
        raise InvalidInput({"year": "年份应在 2000–2999 之间。 (Year out of range.)"})
    accounts = restrict(KeyAccount.objects.filter(active=True), actor, write=True).exclude(
        account__account_manager=None
    )
    if manager is not None:
        accounts = accounts.filter(account__account_manager=manager)
    planned = set(VisitPlanItem.objects.filter(year=year).values_list("account_id", flat=True))
    items = [
        VisitPlanItem(year=year, manager_id=manager_id, account_id=account_id, planned_on=day)
        for account_id, manager_id, grade in accounts.values_list(
            "account_id", "account__account_manager", "grade"
        )
        if account_id not in planned
        for day in planned_dates(year, visits_per_year(grade))
    ]
    VisitPlanItem.objects.bulk_create(items, batch_size=2000)
    audit.record(
        actor,
        "keyaccounts.generate_plan",
        object_type="keyaccounts.visitplanitem",
        object_id=str(year),
        after={"year": year, "manager": manager.pk if manager else None, "visits": len(items)},
    )
    return len(items)


@action("keyaccounts.change_plan", permission="keyaccount.manage")
def do_change_plan_item(
    actor: User, item: VisitPlanItem | int, *, planned_on: dt.date | None = None, cancel: bool = False
) -> VisitPlanItem:
    """Move a planned visit to another day, or cancel it (a done visit stays as it is)."""
    pk = item.pk if isinstance(item, VisitPlanItem) else item
    found = get_in_scope(VisitPlanItem.objects.select_for_update(), actor, write=True, pk=pk)
    if found.status != VisitPlanItem.Status.PLANNED:
        raise Conflict("该回访已完成或已取消，不能修改。 (This visit is done or cancelled.)")
    before = audit.snapshot(found, PLAN_FIELDS)
    if cancel:
        found.status = VisitPlanItem.Status.CANCELLED
    elif planned_on is not None:
        if planned_on.year != found.year:
            raise InvalidInput(
                {"planned_on": f"日期应在 {found.year} 年内。 (The date must be in the plan's year.)"}
            )
        found.planned_on = planned_on
    try:
        with transaction.atomic():
            found.save(update_fields=["status", "planned_on"])
    except IntegrityError:
        raise InvalidInput(
            {"planned_on": "该户当天已有回访计划。 (A visit is already planned that day.)"}
        ) from None
    old, new = audit.diff(before, audit.snapshot(found, PLAN_FIELDS))
    audit.record(actor, "keyaccounts.change_plan", found, before=old, after=new)
    return found


@action("keyaccounts.record_visit", permission="keyaccount.manage")
def do_record_visit(
    actor: User,
    *,
    account: Account | int,
    visited_on: dt.date,
    people_met: str,
    topics: str,
    demands: str = "",
    follow_up: str = "",
    plan_item: VisitPlanItem | int | None = None,
    create_work_order: bool = False,
) -> Visit:
    """Record a visit of a key account of one's portfolio (a visit outside it is refused), mark the planned
    visit done (the given one, or the account's next open one within 60 days), and turn the follow-up into a
    service work order through the service desk's action when asked."""
    from gridcare.service.actions import do_create_order
    from gridcare.service.choices import OrderType, SubType

    errors: dict[str, str] = {}
    if not people_met.strip():
        errors["people_met"] = "请填写会见人员。 (Whom did you meet?)"
    if not topics.strip():
        errors["topics"] = "请填写回访内容。 (What was discussed?)"
    if visited_on > timezone.localdate():
        errors["visited_on"] = "回访日期不能晚于今天。 (A visit cannot be in the future.)"
    if create_work_order and not follow_up.strip():
        errors["follow_up"] = "生成工单需要填写后续事项。 (A work order needs the follow-up text.)"
    account_pk = account.pk if isinstance(account, Account) else account
    key_account = (
        restrict(KeyAccount.objects.filter(active=True), actor, write=True)
        .filter(account_id=account_pk)
        .select_related("account")
        .first()
    )
    if key_account is None:
        errors["account"] = (
            "该户号不在您负责的大客户名单中，不能登记回访。 (Not a key account of your portfolio.)"
        )
    if errors:
        raise InvalidInput(errors)
    assert key_account is not None
    target = key_account.account
    item = _plan_item(actor, target, visited_on, plan_item)
    visit = Visit.objects.create(
        account=target,
        manager=actor,
        visited_on=visited_on,
        people_met=people_met.strip(),
        topics=topics.strip(),
        demands=demands.strip(),
        follow_up=follow_up.strip(),
    )
    if create_work_order:
        order = do_create_order(
            actor,
            order_type=OrderType.APPLICATION,
            sub_type=SubType.OTHER,
            channel="onsite",
            customer=target.customer_id,
            account=target.pk,
            title=f"大客户回访后续：{follow_up.strip()[:100]}",
            description=f"{demands.strip()}\n{follow_up.strip()}".strip(),
            contact_from_customer=True,
        )
        visit.work_order = order
        visit.save(update_fields=["work_order"])
    if item is not None:
        item.status, item.visit = VisitPlanItem.Status.DONE, visit
        item.save(update_fields=["status", "visit"])
    after: dict[str, Any] = {**audit.snapshot(visit, VISIT_FIELDS), "work_order": visit.work_order_id}
    after["plan_item"] = item.pk if item else None
    audit.record(actor, "keyaccounts.record_visit", visit, after=after)
    return visit


def _plan_item(
    actor: User, account: Account, visited_on: dt.date, chosen: VisitPlanItem | int | None
) -> VisitPlanItem | None:
    open_items = VisitPlanItem.objects.select_for_update().filter(
        account=account, status=VisitPlanItem.Status.PLANNED
    )
    if chosen not in (None, ""):
        pk = chosen.pk if isinstance(chosen, VisitPlanItem) else chosen
        item = open_items.filter(pk=pk).first()
        if item is None:
            raise InvalidInput({"plan_item": "该回访计划不存在或已完成。 (No such open planned visit.)"})
        return item
    window = dt.timedelta(days=60)
    return (
        open_items.filter(planned_on__gte=visited_on - window, planned_on__lte=visited_on + window)
        .order_by("planned_on")
        .first()
    )
