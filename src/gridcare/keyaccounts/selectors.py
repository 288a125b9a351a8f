"""Careful reads of key accounts and market development: who sees which prospect (客户信息保密), the key-account
360 view, visit-plan completion and the pipeline figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from gridcare.core.access import get_in_scope, has_perm, restrict
from gridcare.keyaccounts.models import KeyAccount, Prospect, Visit, VisitPlanItem

#: the managers' permission: they see the prospects of their data scope and the holders of collisions
VIEW_ALL = "prospect.view_all"


def visible_prospects(user: Any, *, write: bool = False) -> QuerySet[Prospect]:
    """The prospects ``user`` may see (客户信息保密): a manager (``prospect.view_all``) those of their data scope,
    a salesperson only their own, anyone else none — lists, search, exports, the API and every action use it."""
    queryset = Prospect.objects.select_related("owner", "region", "unit")
    if has_perm(user, VIEW_ALL):
        return restrict(queryset, user, write=write)
    if has_perm(user, "prospect.register"):
        return restrict(queryset, user, write=write).filter(owner=user)
    return queryset.none()


def prospect_in_scope(user: Any, pk: Any, *, write: bool = False) -> Prospect:
    """One prospect the user may see, or the not-found answer (404) — the same for one that does not exist."""
    return get_in_scope(visible_prospects(user, write=write), user, write=write, pk=pk)


def portfolio(user: Any) -> QuerySet[KeyAccount]:
    """The key accounts the user sees: a key account manager their own portfolio, managers their scope."""
    return restrict(
        KeyAccount.objects.filter(active=True).select_related(
            "account", "account__customer", "account__account_manager", "account__org_unit"
        ),
        user,
    )


def arrears_summary(account_id: int) -> dict[str, Any] | None:
    """Balance, arrears, overdue days (延误天数 of the oldest overdue item), open bills and credit of an account, from
    the ledger; ``None`` when the account has no ledger entries yet (the 360 view shows "—")."""
    from gridcare.customers.models import Account
    from gridcare.ledger.models import Entry
    from gridcare.ledger.selectors import account_position

    if not Entry.objects.filter(account_id=account_id).exists():
        return None
    position = account_position(Account.objects.get(pk=account_id))
    today = timezone.localdate()
    overdue = [item for item in position.items if item.overdue]
    return {
        "balance": position.balance,
        "arrears": position.arrears,
        "overdue_days": max(((today - item.entry.due_date).days for item in overdue), default=0),
        "open_items": len(position.items),
        "credit": position.credit,
    }


@dataclass
class Account360:
    key_account: KeyAccount
    months: list[str] = field(default_factory=list)
    kwh: list[float] = field(default_factory=list)
    demand_kw: list[float | None] = field(default_factory=list)
    bills: list[Any] = field(default_factory=list)
    work_orders: list[Any] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    plan: list[VisitPlanItem] = field(default_factory=list)
    contracts: list[Any] = field(default_factory=list)
    arrears: dict[str, Any] | None = None


def last_months(today: dt.date, count: int = 12) -> list[str]:
    year, month = today.year, today.month
    keys = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        keys.append(f"{year}-{month:02d}")
    return list(reversed(keys))


def account_360(user: Any, key_account: KeyAccount) -> Account360:
    """Everything a key account manager looks at for one key account: 12 months of consumption (released
    bills) and maximum demand (interval data, where collected), bills, work orders, visits and the visit plan,
    contracts in force and — once the ledger exists — arrears and payment plans."""
    from gridcare.billing.models import Bill
    from gridcare.customers.models import SupplyContract
    from gridcare.service.models import WorkOrder

    account = key_account.account
    months = last_months(timezone.localdate())
    bills = list(
        restrict(Bill.objects.filter(account=account), user)
        .exclude(status=Bill.Status.DRAFT)
        .order_by("-period")
    )
    per_month: dict[str, Decimal] = {}
    for bill in bills:
        per_month[bill.period] = per_month.get(bill.period, Decimal(0)) + bill.energy_kwh
    demand = _max_demand(account.pk, months)
    return Account360(
        key_account=key_account,
        months=months,
        kwh=[float(per_month.get(m, 0)) for m in months],
        demand_kw=[demand.get(m) for m in months],
        bills=bills[:12],
        work_orders=list(
            restrict(WorkOrder.objects.filter(account=account), user).order_by("-created_at")[:20]
        ),
        visits=list(Visit.objects.filter(account=account).select_related("manager", "work_order")[:20]),
        plan=list(VisitPlanItem.objects.filter(account=account, year=timezone.localdate().year)),
        contracts=list(restrict(SupplyContract.objects.filter(account=account), user).order_by("-signed_on")),
        arrears=arrears_summary(account.pk),
    )


def _max_demand(account_id: int, months: list[str]) -> dict[str, float]:
    from gridcare.readings.interval_selectors import monthly_max_demand

    found = monthly_max_demand([account_id], months)
    return {month: float(value) for (_account, month), value in found.items()}


def plan_completion(queryset: QuerySet[VisitPlanItem], until: dt.date) -> tuple[int, int]:
    """(visits done, visits due) among planned visits dated up to ``until`` — cancelled ones do not count."""
    due = queryset.filter(planned_on__lte=until).exclude(status=VisitPlanItem.Status.CANCELLED)
    figures = due.aggregate(done=Count("pk", filter=Q(status=VisitPlanItem.Status.DONE)), due=Count("pk"))
    return int(figures["done"] or 0), int(figures["due"] or 0)


def pipeline(user: Any) -> dict[str, Any]:
    """Prospects by stage, per owner and per region, and the conversion rate (won of decided), as chart data."""
    rows = visible_prospects(user)
    stages = [str(choice) for choice in Prospect.Stage.values]
    labels = {value: str(label) for value, label in Prospect.Stage.choices}

    def by(field_name: str, label: str) -> dict[str, Any]:
        grouped = rows.values(field_name, label, "stage").annotate(
            n=Count("pk"), kva=Sum("expected_capacity_kva")
        )
        names: dict[Any, str] = {}
        counts: dict[tuple[Any, str], int] = {}
        for row in grouped:
            names[row[field_name]] = row[label]
            counts[(row[field_name], row["stage"])] = row["n"]
        keys = sorted(names, key=lambda k: names[k] or "")
        return {
            "names": [names[k] for k in keys],
            "series": [{"stage": labels[s], "counts": [counts.get((k, s), 0) for k in keys]} for s in stages],
            "conversion": [
                _rate(counts.get((k, "won"), 0), counts.get((k, "won"), 0) + counts.get((k, "lost"), 0))
                for k in keys
            ],
        }

    totals = dict(rows.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    won, lost = totals.get("won", 0), totals.get("lost", 0)
    return {
        "stages": [labels[s] for s in stages],
        "totals": [totals.get(s, 0) for s in stages],
        "conversion": _rate(won, won + lost),
        "by_owner": by("owner_id", "owner__full_name"),
        "by_region": by("region_id", "region__name"),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def credit_grades(account_ids: Any) -> dict[int, str]:
    """The grade in force of each account (A/B/C/D): its latest month's score, or the last approved manual
    adjustment of that score. Accounts never scored are left out. Read by dunning through its setting (the
    notice period or deposit by grade); two queries whatever the number of accounts."""
    from django.db.models import OuterRef, Subquery

    from gridcare.keyaccounts.models import CreditAdjustment, CreditScore

    ids = list(account_ids)
    if not ids:
        return {}
    latest = CreditScore.objects.filter(account_id=OuterRef("account_id")).order_by("-month").values("pk")[:1]
    scores = CreditScore.objects.filter(account_id__in=ids, pk=Subquery(latest)).values_list(
        "pk", "account_id", "grade"
    )
    grades: dict[int, str] = {}
    by_score: dict[int, int] = {}
    for pk, account_id, grade in scores:
        grades[account_id] = grade
        by_score[pk] = account_id
    adjusted = (
        CreditAdjustment.objects.filter(score_id__in=list(by_score), status=CreditAdjustment.Status.APPROVED)
        .order_by("decided_at", "pk")
        .values_list("score_id", "grade_after")
    )
    for score_id, grade in adjusted:  # the last decided wins
        grades[by_score[score_id]] = grade
    return grades


def credit_history(account_id: int, months: int) -> list[Any]:
    """The account's last ``months`` scores, oldest first, each with its adjustments (the 360 view's chart)."""
    from gridcare.keyaccounts.models import CreditScore

    rows = list(
        CreditScore.objects.filter(account_id=account_id)
        .select_related("rule_set")
        .prefetch_related("adjustments", "adjustments__requested_by", "adjustments__decided_by")
        .order_by("-month")[:months]
    )
    return list(reversed(rows))
