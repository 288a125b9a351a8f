"""Sales expense budgets (销售费用预算): budget lines by region and owner, expenses recorded against them, and an
expense over the remaining budget refused unless approved within authority (``budget_amount``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import check_limit, get_in_scope, has_perm
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput, InvalidTransition, LimitExceeded, PermissionRefused
from gridcare.customers.models import Account
from gridcare.keyaccounts.budget import remaining_of
from gridcare.keyaccounts.conf import conf
from gridcare.keyaccounts.models import ExpenseCategory, SalesBudget, SalesExpense
from gridcare.keyaccounts.selectors import prospect_in_scope
from gridcare.org.models import OrgUnit, User

CENT = Decimal("0.01")
EXPENSE_FIELDS = ["day", "category", "amount", "description", "status", "overrun", "approvers"]


def _money(value: Any, field: str, *, positive: bool) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput({field: f"金额「{value}」不是数字。 (Not an amount.)"}) from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise InvalidInput({field: "金额最多两位小数（元）。 (At most 2 decimals, 元.)"})
    if amount < 0 or (positive and amount == 0):
        raise InvalidInput({field: "金额必须大于 0。 (The amount must be positive.)"})
    if amount >= Decimal("1e12"):
        raise InvalidInput({field: "金额过大。 (The amount is too large.)"})
    return amount


@action("keyaccounts.set_budget", permission="budget.approve")
def do_set_budget(
    actor: User, *, year: int, region: OrgUnit | int, owner: User | int, amount: Any, note: str = ""
) -> SalesBudget:
    """设定销售费用预算 — a year's budget for one region and owner (a new line, or a changed amount), within the
    actor's budget authority (``budget_amount``); never below what is already spent."""
    today = timezone.localdate()
    if not isinstance(year, int) or not 2000 <= year <= today.year + int(conf("BUDGET_YEARS_AHEAD")):
        raise InvalidInput({"year": f"预算年度「{year}」无效。 (Invalid budget year.)"})
    value = _money(amount, "amount", positive=False)
    # the region is any unit of the org chart (what the money is spent on); the owner is one of the actor's people
    unit = OrgUnit.objects.filter(pk=region.pk if isinstance(region, OrgUnit) else region).first()
    if unit is None:
        raise InvalidInput({"region": "没有该区域。 (No such region.)"})
    person = get_in_scope(
        User.objects.all(), actor, write=True, pk=owner.pk if isinstance(owner, User) else owner
    )
    if not person.is_active or person.left_on is not None:
        raise InvalidInput({"owner": "责任人已离岗。 (The owner has left.)"})
    check_limit(actor, "budget_amount", value)
    line = SalesBudget.objects.select_for_update().filter(year=year, region=unit, owner=person).first()
    before = None
    if line is None:
        line = SalesBudget(year=year, region=unit, owner=person, amount=value, created_by=actor)
    else:
        spent = line.amount - remaining_of(line)
        if value < spent:
            raise InvalidInput(
                {"amount": f"预算不能低于已用 {spent:,.2f} 元。 (The budget cannot go below what is spent.)"}
            )
        before = {"amount": line.amount}
        line.amount = value
    line.note = (note or line.note or "").strip()[:200]
    line.save()
    audit.record(
        actor,
        "keyaccounts.set_budget",
        line,
        before=before,
        after={"year": year, "region": unit.name, "owner": person.username, "amount": value},
    )
    return line


@action("keyaccounts.record_expense", permission="expense.record")
def do_record_expense(
    actor: User,
    *,
    budget: SalesBudget | int,
    day: dt.date,
    category: str,
    amount: Any,
    description: str,
    prospect: int | None = None,
    account: int | None = None,
    request_approval: bool = False,
) -> SalesExpense:
    """登记销售费用 — against a budget line the actor may write (a salesperson their own). An expense over the
    line's remaining budget is refused, with the figures; asked with ``request_approval`` it waits for a
    position whose ``budget_amount`` limit covers the overrun (or is recorded at once when the actor's own
    authority covers it)."""
    line = get_in_scope(
        SalesBudget.objects.select_for_update(of=("self",)).select_related("region", "owner"),
        actor,
        write=True,
        pk=budget.pk if isinstance(budget, SalesBudget) else budget,
    )
    errors: dict[str, str] = {}
    if category not in ExpenseCategory.values:
        errors["category"] = f"未知的费用类别「{category}」。 (Unknown category.)"
    if not isinstance(day, dt.date) or day.year != line.year:
        errors["day"] = f"费用日期须在预算年度 {line.year} 内。 (The date must lie in the budget year.)"
    elif day > timezone.localdate():
        errors["day"] = "费用日期不能晚于今天。 (The date cannot be in the future.)"
    description = (description or "").strip()
    if not description:
        errors["description"] = "请填写费用说明。 (Describe the expense.)"
    if errors:
        raise InvalidInput(errors)
    value = _money(amount, "amount", positive=True)
    found_prospect = prospect_in_scope(actor, prospect) if prospect else None
    found_account = get_in_scope(Account.objects.all(), actor, pk=account) if account else None
    remaining = remaining_of(line)
    expense = SalesExpense(
        budget=line,
        day=day,
        category=category,
        amount=value,
        description=description[:200],
        prospect=found_prospect,
        account=found_account,
        recorded_by=actor,
    )
    if value > remaining:
        expense.overrun = value - max(remaining, Decimal(0))
        approvers: list[str] = []
        within = False
        if has_perm(actor, "budget.approve"):
            try:
                check_limit(actor, "budget_amount", expense.overrun)
                within = True
            except LimitExceeded as exc:
                approvers = exc.approvers
        else:
            approvers = _approvers(expense.overrun)
        if within:
            expense.decided_by, expense.decided_at = actor, timezone.now()
            expense.decision_note = "超预算，在本人审批权限内。"
        elif request_approval:
            expense.status = SalesExpense.Status.PENDING
            expense.approvers = "、".join(approvers)[:300]
        else:
            raise InvalidInput(
                {
                    "amount": (
                        f"超出剩余预算：预算 {line.amount:,.2f} 元，剩余 {remaining:,.2f} 元，本笔 {value:,.2f} 元，"
                        f"超出 {expense.overrun:,.2f} 元；请提交超预算审批"
                        + (f"（可审批：{'、'.join(approvers)}）" if approvers else "")
                        + "。 (Over the remaining budget: ask for approval.)"
                    )
                }
            )
    expense.save()
    audit.record(
        actor,
        "keyaccounts.record_expense",
        expense,
        object_repr=f"{line} {expense}",
        after={**audit.snapshot(expense, EXPENSE_FIELDS), "remaining_before": remaining},
    )
    return expense


def _approvers(amount: Decimal) -> list[str]:
    from gridcare.org.models import AuthorityLimit

    return list(
        AuthorityLimit.objects.filter(limit_type__code="budget_amount", amount__gte=amount)
        .order_by("amount", "position__code")
        .values_list("position__name", flat=True)
    )


@action("keyaccounts.decide_expense", permission="budget.approve")
def do_decide_expense(actor: User, pk: int, *, approve: bool, note: str = "") -> SalesExpense:
    """审批超预算费用 — within the approver's ``budget_amount`` limit for the overrun as it stands now (what
    was spent meanwhile counts); never one's own; a rejection needs its reason."""
    expense = get_in_scope(
        SalesExpense.objects.select_for_update(of=("self",)).select_related("budget"),
        actor,
        write=True,
        pk=pk,
    )
    if expense.status != SalesExpense.Status.PENDING:
        raise InvalidTransition(
            expense.get_status_display(),
            str(SalesExpense.Status.RECORDED.label if approve else SalesExpense.Status.REJECTED.label),
            [str(SalesExpense.Status.PENDING.label)],
        )
    if expense.recorded_by_id == actor.pk:
        raise PermissionRefused("不能审批自己登记的费用。 (You cannot approve your own expense.)")
    note = (note or "").strip()
    before = audit.snapshot(expense, EXPENSE_FIELDS)
    if approve:
        SalesBudget.objects.select_for_update().filter(pk=expense.budget_id).first()
        remaining = remaining_of(expense.budget)
        expense.overrun = max(expense.amount - max(remaining, Decimal(0)), Decimal(0))
        check_limit(actor, "budget_amount", expense.overrun)
        expense.status = SalesExpense.Status.RECORDED
    else:
        if not note:
            raise InvalidInput({"note": "请填写驳回理由。 (Give the reason for rejecting.)"})
        expense.status = SalesExpense.Status.REJECTED
    expense.decided_by, expense.decided_at = actor, timezone.now()
    expense.decision_note = note[:200]
    expense.save(update_fields=["status", "overrun", "decided_by", "decided_at", "decision_note"])
    old, new = audit.diff(before, audit.snapshot(expense, EXPENSE_FIELDS))
    audit.record(actor, "keyaccounts.decide_expense", expense, before=old, after=new, note=note)
    return expense
