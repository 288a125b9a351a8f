"""Sales expense budget execution (销售费用预算执行): per budget line (region × owner) the budget, what was spent,
what waits for approval, what remains, the execution rate (预算执行率) and the variance (预算偏差率) against the
budget prorated to the date — and the same as an Excel workbook.

- 执行率 = spent ÷ budget × 100;
- 偏差率 = (spent − budget × elapsed share of the year) ÷ (budget × elapsed share) × 100, signed (negative: under
  plan); the workbench KPI is its absolute value over the lines in scope (summed budgets and spending).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from gridcare.core.access import restrict
from gridcare.keyaccounts.models import SalesBudget, SalesExpense

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class ExecutionRow:
    budget_id: int
    year: int
    region: str
    owner: str
    budget: Decimal
    spent: Decimal
    pending: Decimal
    remaining: Decimal
    execution: Decimal | None  # %
    variance: Decimal | None  # %, signed


def elapsed_share(year: int, until: dt.date) -> Decimal:
    """The share of ``year`` elapsed by ``until`` (inclusive), 0–1."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if until < first:
        return Decimal(0)
    days = (min(until, last) - first).days + 1
    return Decimal(days) / Decimal((last - first).days + 1)


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


def variance(spent: Decimal, budget: Decimal, share: Decimal) -> Decimal | None:
    plan = budget * share
    return percent(spent - plan, plan) if plan else None


def spent_by_line(queryset: QuerySet[SalesBudget], until: dt.date | None = None) -> QuerySet[SalesBudget]:
    recorded = Q(expenses__status=SalesExpense.Status.RECORDED)
    if until is not None:
        recorded &= Q(expenses__day__lte=until)
    return queryset.annotate(
        spent=Coalesce(Sum("expenses__amount", filter=recorded), Value(ZERO), output_field=MONEY),
        pending=Coalesce(
            Sum("expenses__amount", filter=Q(expenses__status=SalesExpense.Status.PENDING)),
            Value(ZERO),
            output_field=MONEY,
        ),
    )


def remaining_of(budget: SalesBudget) -> Decimal:
    spent = budget.expenses.filter(status=SalesExpense.Status.RECORDED).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY)
    )["total"]
    return Decimal(budget.amount - spent)


def budget_execution(user: Any, year: int, *, today: dt.date | None = None) -> list[ExecutionRow]:
    """The budget lines of ``year`` the user sees, with spending, by region then owner."""
    today = today or timezone.localdate()
    share = elapsed_share(year, today)
    lines = spent_by_line(
        restrict(SalesBudget.objects.filter(year=year).select_related("region", "owner"), user)
    ).order_by("region__path", "owner__username")
    rows = []
    for line in lines:
        spent, pending = Decimal(line.spent), Decimal(line.pending)  # type: ignore[attr-defined]
        rows.append(
            ExecutionRow(
                budget_id=line.pk,
                year=line.year,
                region=line.region.name,
                owner=line.owner.display_name,
                budget=line.amount,
                spent=spent,
                pending=pending,
                remaining=line.amount - spent,
                execution=percent(spent, line.amount),
                variance=variance(spent, line.amount, share),
            )
        )
    return rows


def by_region(rows: list[ExecutionRow], year: int, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Region totals of the execution rows (the table's subtotals and the chart)."""
    share = elapsed_share(year, today or timezone.localdate())
    totals: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        t = totals.setdefault(r.region, {"budget": ZERO, "spent": ZERO, "pending": ZERO})
        t["budget"] += r.budget
        t["spent"] += r.spent
        t["pending"] += r.pending
    return [
        {
            "region": region,
            **t,
            "remaining": t["budget"] - t["spent"],
            "execution": percent(t["spent"], t["budget"]),
            "variance": variance(t["spent"], t["budget"], share),
        }
        for region, t in totals.items()
    ]


def execution_sheets(rows: list[ExecutionRow], year: int) -> list[Any]:
    """预算执行表: one row per budget line with a totals row, and the region subtotals on a second sheet."""
    from gridcare.web.excel import MONEY_FORMAT, ReportColumn, ReportSheet

    pct = "0.0"
    money = [
        ReportColumn(h, MONEY_FORMAT, 14) for h in ("预算（元）", "已用（元）", "待审批（元）", "剩余（元）")
    ]
    rates = [ReportColumn("执行率（%）", pct, 11), ReportColumn("偏差率（%）", pct, 11)]
    budget, spent = sum((r.budget for r in rows), ZERO), sum((r.spent for r in rows), ZERO)
    pending = sum((r.pending for r in rows), ZERO)
    share = elapsed_share(year, timezone.localdate())
    lines = ReportSheet(
        title=f"{year}预算执行",
        caption=f"{year} 年销售费用预算执行（按区域与责任人）",
        columns=[ReportColumn("区域", width=16), ReportColumn("责任人", width=12), *money, *rates],
        rows=[
            [r.region, r.owner, r.budget, r.spent, r.pending, r.remaining, r.execution, r.variance]
            for r in rows
        ],
        totals=[
            "合计",
            "",
            budget,
            spent,
            pending,
            budget - spent,
            percent(spent, budget),
            variance(spent, budget, share),
        ],
        notes=["执行率 = 已用 ÷ 预算；偏差率 = (已用 − 预算 × 年度已过比例) ÷ (预算 × 年度已过比例)。"],
    )
    regions = ReportSheet(
        title="按区域",
        columns=[ReportColumn("区域", width=16), *money, *rates],
        rows=[
            [
                t["region"],
                t["budget"],
                t["spent"],
                t["pending"],
                t["remaining"],
                t["execution"],
                t["variance"],
            ]
            for t in by_region(rows, year)
        ],
    )
    return [lines, regions]


def execution_workbook(rows: list[ExecutionRow], year: int) -> bytes:
    from gridcare.web.excel import build_report

    return build_report(execution_sheets(rows, year))
