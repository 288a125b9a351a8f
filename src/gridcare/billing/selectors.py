"""Reads of the billing app: everything a chunk of a billing run needs, loaded set-based (a few queries per
account-id range, never one per account), and the runs and bills as far as a person's scope reaches."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from gridcare.billing.conf import conf
from gridcare.billing.models import Bill, BillingRun
from gridcare.core.access import restrict
from gridcare.core.errors import InvalidInput
from gridcare.customers.models import Account, CapacityPeriod, DemandPeriod, ServicePoint, TariffAssignment
from gridcare.engine.tariff import BasicCharge
from gridcare.engine.tariff import Tariff as EngineTariff
from gridcare.metering.models import Installation
from gridcare.readings.bulk import among
from gridcare.readings.interval_selectors import max_demand_in_periods
from gridcare.readings.models import MeterRead
from gridcare.readings.periods import parse_period
from gridcare.readings.selectors import DeterminantSet, determinants_in_range
from gridcare.service.models import Compensation
from gridcare.tariffs.models import Tariff
from gridcare.tariffs.selectors import engine_tariff


def bill_period(period: str, reading_day: int) -> tuple[dt.date, dt.date]:
    """The bill period of ``period`` for a route read on ``reading_day``: from the previous month's reading day
    (inclusive) to this month's (exclusive) — the consumption the period's reading measured (抄表例日)."""
    first = parse_period(period)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    return previous.replace(day=reading_day), first.replace(day=reading_day)


def tier_year(period: str) -> tuple[dt.date, dt.date]:
    """The tier year (阶梯年度) ``period`` belongs to: [start, end)."""
    first = parse_period(period)
    month = int(conf("TIER_YEAR_START_MONTH"))
    year = first.year if first.month >= month else first.year - 1
    return dt.date(year, month, 1), dt.date(year + 1, month, 1)


@dataclass
class Segment:
    """A stretch of the bill period on one tariff (a tariff change in the period splits the bill by days)."""

    tariff_code: str
    start: dt.date
    end: dt.date


@dataclass
class PointGroup:
    """The service points of an account on one tariff (the same segments), with their own registers — an
    account whose service points are on different tariffs is billed per group, in one bill."""

    points: list[int]
    segments: list[Segment]
    registers: dict[str, Decimal] = field(default_factory=dict)
    capacity_kva: Decimal | None = None
    contracted_demand_kw: Decimal | None = None


@dataclass
class AccountInput:
    """What one account is billed from in a period."""

    account: int
    period_start: dt.date
    period_end: dt.date
    #: supply start (the first tariff assignment of its service points): a move-in in the tier year prorates it
    supply_from: dt.date
    registers: dict[str, Decimal] = field(default_factory=dict)
    withheld: set[str] = field(default_factory=set)
    segments: list[Segment] = field(default_factory=list)
    several_tariffs: bool = False
    #: with ``several_tariffs``: the service points grouped by tariff (the first group's segments are ``segments``)
    groups: list[PointGroup] = field(default_factory=list)
    capacity_kva: Decimal | None = None
    contracted_demand_kw: Decimal | None = None
    tier_ytd_kwh: Decimal = Decimal(0)
    compensations: list[tuple[int, Decimal, str]] = field(default_factory=list)
    already_billed: str | None = None
    #: a determinant of the period is an (approved) estimate
    estimated: bool = False
    #: a meter of the account was installed with another multiplier in the period (换表 / 变比变更)
    multiplier_changed: bool = False
    #: amount due of the regular bill of the month before and of the same month last year (None: no bill)
    previous_total: Decimal | None = None
    last_year_total: Decimal | None = None
    #: 最大需量 of the bill period (kW) for a basic charge by demand, and where it comes from (``max_demand``:
    #: source, when, coverage — kept in the bill's inputs); ``demand_missing`` says why there is none
    max_demand_kw: Decimal | None = None
    max_demand: dict[str, str] = field(default_factory=dict)
    demand_missing: str = ""


@dataclass
class ChunkData:
    period: str
    accounts: list[AccountInput]
    tariffs: dict[str, EngineTariff]
    tariff_errors: dict[str, str]
    #: the enabled plausibility rules (code, parameters) the chunk's bills are checked with
    rules: list[tuple[str, dict[str, int]]] = field(default_factory=list)


def run_accounts(run: BillingRun) -> QuerySet[Account]:
    """The accounts a run selects: its scope (company, unit, route, list) within the starter's read scope — the
    billing team (电费核算班) bills every account it reads (``read_scope: company``), not only its own team's."""
    accounts = restrict(Account.objects.filter(status=Account.Status.ACTIVE), run.created_by)
    if run.scope == BillingRun.Scope.UNIT and run.billed_unit is not None:
        accounts = accounts.filter(org_unit__path__startswith=run.billed_unit.path)
    elif run.scope == BillingRun.Scope.ROUTE and run.route_id is not None:
        accounts = accounts.filter(
            pk__in=ServicePoint.objects.filter(route_stop__route=run.route_id).values("account_id")
        )
    elif run.scope == BillingRun.Scope.ACCOUNTS:
        accounts = accounts.filter(pk__in=list(run.account_ids))
    return accounts


def _in_force(rows: list[tuple[Any, ...]], day: dt.date) -> Any:
    """The value of the effective-dated ``(valid_from, valid_to, value)`` row in force on ``day``."""
    for start, end, value in rows:
        if start <= day and (end is None or day < end):
            return value
    return None


def load_chunk(run: BillingRun, first: int, last: int) -> ChunkData:
    """Everything the accounts ``first``–``last`` of ``run`` are billed from — eight queries for the range."""
    period = run.period
    ids = list(
        run_accounts(run).filter(pk__gte=first, pk__lte=last).order_by("pk").values_list("pk", flat=True)
    )
    default_day = int(conf("DEFAULT_READING_DAY"))
    day_of: dict[int, int] = {}
    points_of: dict[int, list[int]] = defaultdict(list)
    for point, account, day in (
        ServicePoint.objects.filter(account_id__gte=first, account_id__lte=last)
        .order_by("pk")
        .values_list("pk", "account_id", "route_stop__route__reading_day")
    ):
        points_of[account].append(point)
        if day is not None:
            day_of.setdefault(account, day)
    of_day: dict[int, tuple[dt.date, dt.date]] = {}  # bill period per reading day: a handful per chunk
    periods: dict[int, tuple[dt.date, dt.date]] = {}
    for a in ids:
        day = day_of.get(a, default_day)
        found_period = of_day.get(day)
        if found_period is None:
            found_period = of_day[day] = bill_period(period, day)
        periods[a] = found_period
    chunk_points = [p for ps in points_of.values() for p in ps]
    found: DeterminantSet = determinants_in_range(
        run.created_by, period=period, first=first, last=last, points=chunk_points
    )
    earliest = min((s for s, _ in periods.values()), default=parse_period(period))
    latest = max((e for _, e in periods.values()), default=parse_period(period))
    overlapping = Q(valid_from__lt=latest) & (Q(valid_to__isnull=True) | Q(valid_to__gt=earliest))
    assignments: dict[int, list[tuple[dt.date, dt.date | None, str]]] = defaultdict(list)
    for point, start, end, code in (
        # every assignment begun before the period's end, the earlier ones too: the supply start
        TariffAssignment.objects.filter(
            among(TariffAssignment, "service_point_id", chunk_points), valid_from__lt=latest
        )
        .order_by("service_point_id", "valid_from")
        .values_list("service_point_id", "valid_from", "valid_to", "tariff_code")
    ):
        assignments[point].append((start, end, code))
    capacity: dict[int, list[tuple[dt.date, dt.date | None, Decimal]]] = defaultdict(list)
    for point, start, end, value in (
        CapacityPeriod.objects.filter(among(CapacityPeriod, "service_point_id", chunk_points), overlapping)
        .order_by()
        .values_list("service_point_id", "valid_from", "valid_to", "capacity_kva")
    ):
        capacity[point].append((start, end, value))
    demand: dict[int, list[tuple[dt.date, dt.date | None, Decimal]]] = defaultdict(list)
    for point, start, end, value in (
        DemandPeriod.objects.filter(among(DemandPeriod, "service_point_id", chunk_points), overlapping)
        .order_by()
        .values_list("service_point_id", "valid_from", "valid_to", "contracted_demand_kw")
    ):
        demand[point].append((start, end, value))
    year_start, _ = tier_year(period)
    ytd = dict(
        Bill.objects.filter(
            account_id__gte=first,
            account_id__lte=last,
            kind=Bill.Kind.REGULAR,
            period__gte=f"{year_start:%Y-%m}",
            period__lt=period,
        )
        .exclude(status=Bill.Status.CANCELLED)
        .values_list("account_id")
        .annotate(kwh=Sum(Coalesce("tier_kwh", "energy_kwh")))
        .values_list("account_id", "kwh")
    )
    billed = dict(
        Bill.objects.filter(
            account_id__gte=first, account_id__lte=last, period=period, kind=Bill.Kind.REGULAR
        )
        .exclude(status=Bill.Status.CANCELLED)
        .values_list("account_id", "status")
    )
    before = _shift(period, -1)
    year_ago = _shift(period, -12)
    history: dict[tuple[int, str], Decimal] = {
        (account, month): total
        for account, month, total in Bill.objects.filter(
            account_id__gte=first,
            account_id__lte=last,
            kind=Bill.Kind.REGULAR,
            period__in=[before, year_ago],
        )
        .exclude(status=Bill.Status.CANCELLED)
        .values_list("account_id", "period", "total")
    }
    installed: dict[int, list[tuple[dt.date, dt.date | None, int]]] = defaultdict(list)  # per service point
    for point, on, off, ct, pt in Installation.objects.filter(
        among(Installation, "service_point_id", chunk_points),
        Q(installed_on__lt=latest) & (Q(removed_on__isnull=True) | Q(removed_on__gt=earliest)),
    ).values_list("service_point_id", "installed_on", "removed_on", "ct_ratio", "pt_ratio"):
        installed[point].append((on, off, ct * pt))
    compensations: dict[int, list[tuple[int, Decimal, str]]] = defaultdict(list)
    for pk, account, amount, reason in (
        Compensation.objects.filter(
            status=Compensation.Status.APPROVED,
            credited=False,
            order__account_id__gte=first,
            order__account_id__lte=last,
        )
        .order_by("pk")
        .values_list("pk", "order__account_id", "amount", "reason")
    ):
        compensations[account].append((pk, amount, reason))
    inputs: list[AccountInput] = []
    codes: set[str] = set()
    for account in ids:
        start, end = periods[account]
        entry = AccountInput(account, start, end, start)
        determinants = found.found.get(account)
        if determinants is not None:
            entry.registers = {r: q.quantity for r, q in determinants.registers.items()}
            entry.estimated = any(q.estimated for q in determinants.registers.values())
        entry.previous_total = history.get((account, before))
        entry.last_year_total = history.get((account, year_ago))
        entry.multiplier_changed = any(
            len({m for on, off, m in installed.get(p, []) if on < end and (off is None or off > start)}) > 1
            for p in points_of.get(account, [])
        )
        entry.withheld = found.withheld.get(account, set())
        status = billed.get(account)
        if status is not None:
            entry.already_billed = str(Bill.Status(status).label)
        points = points_of.get(account, [])
        last_day = end - dt.timedelta(days=1)
        grouped: dict[tuple[tuple[str, dt.date, dt.date], ...], PointGroup] = {}
        for point in points:
            segments = []
            for s, e, code in assignments.get(point, []):
                lo, hi = max(s, start), min(e or end, end)
                if lo < hi:
                    segments.append(Segment(code, lo, hi))
            if segments:
                key = tuple((g.tariff_code, g.start, g.end) for g in segments)
                grouped.setdefault(key, PointGroup([], segments)).points.append(point)
        starts = [s for p in points for s, _e, _c in assignments.get(p, [])]
        entry.supply_from = min(starts, default=start)
        if grouped:
            groups = list(grouped.values())
            entry.segments = groups[0].segments
            entry.several_tariffs = len(groups) > 1
            if entry.several_tariffs:
                entry.groups = groups
            codes.update(s.tariff_code for g in groups for s in g.segments)
        caps = [_in_force(capacity.get(p, []), last_day) for p in points]
        if any(c is not None for c in caps):
            entry.capacity_kva = sum((c for c in caps if c is not None), Decimal(0))
        demands = [_in_force(demand.get(p, []), last_day) for p in points]
        if any(d is not None for d in demands):
            entry.contracted_demand_kw = sum((d for d in demands if d is not None), Decimal(0))
        for group in entry.groups:
            group.capacity_kva = _total([_in_force(capacity.get(p, []), last_day) for p in group.points])
            group.contracted_demand_kw = _total(
                [_in_force(demand.get(p, []), last_day) for p in group.points]
            )
        entry.tier_ytd_kwh = ytd.get(account) or Decimal(0)
        entry.compensations = compensations.get(account, [])
        inputs.append(entry)
    _group_registers(run, period, [e for e in inputs if e.groups])
    tariffs: dict[str, EngineTariff] = {}
    errors: dict[str, str] = {}
    for tariff in Tariff.objects.filter(code__in=codes).prefetch_related("versions"):
        try:
            tariffs[tariff.code] = engine_tariff(tariff)
        except InvalidInput as exc:
            errors[tariff.code] = "; ".join(m for msgs in exc.errors.values() for m in msgs)[:250]
    for code in codes - set(tariffs) - set(errors):
        errors[code] = f"电价「{code}」不在电价目录中。 (Tariff {code} is not in the catalogue.)"
    load_max_demand(
        [e for e in inputs if any(needs_demand(tariffs.get(s.tariff_code), e) for s in e.segments)]
    )
    return ChunkData(period, inputs, tariffs, errors, enabled_rules())


def _group_registers(run: BillingRun, period: str, entries: list[AccountInput]) -> None:
    """The registers of each tariff group of the accounts whose service points are on different tariffs — one
    query for the chunk's few such accounts (the valid reads per service point; held reads withhold the whole
    account already)."""
    if not entries:
        return
    by_point: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for point, register, quantity in (
        restrict(MeterRead.objects.filter(period=period, status=MeterRead.Status.VALID), run.created_by)
        .filter(service_point__account_id__in=[e.account for e in entries], quantity__isnull=False)
        .values_list("service_point_id", "register", "quantity")
    ):
        by_point[point][register] = by_point[point].get(register, Decimal(0)) + (quantity or Decimal(0))
    for entry in entries:
        for group in entry.groups:
            for point in group.points:
                for register, quantity in by_point.get(point, {}).items():
                    group.registers[register] = group.registers.get(register, Decimal(0)) + quantity


def needs_demand(tariff: EngineTariff | None, entry: AccountInput) -> bool:
    """Whether a version of ``tariff`` bills ``entry``'s basic charge by demand: a demand price, and either a
    contracted demand or no capacity price to choose instead."""
    if tariff is None:
        return False
    bases = [v.component("basic") for v in tariff.versions]
    return any(
        isinstance(b, BasicCharge)
        and b.demand_price is not None
        and (entry.contracted_demand_kw is not None or b.capacity_price is None)
        for b in bases
    )


def load_max_demand(entries: list[AccountInput]) -> None:
    """最大需量 of the bill period for the accounts billed by demand — one scan of the interval store for the whole
    chunk (the accounts' meters, the months their periods touch), never one per account.

    Precedence: metering has no maximum-demand register (最大需量示数) today, so the interval store is the one
    source; an account with too few intervals (``DEMAND_MIN_COVERAGE_PCT``) or none has no demand and is not
    billed, with the reason."""
    if not entries:
        return
    minimum = Decimal(str(conf("DEMAND_MIN_COVERAGE_PCT")))
    found = max_demand_in_periods({e.account: (e.period_start, e.period_end) for e in entries})
    for entry in entries:
        demand = found.get(entry.account)
        if demand is None:
            entry.demand_missing = "本期没有负荷曲线数据，无法确定最大需量。 (No interval data in the bill period: no maximum demand.)"
            continue
        if demand.coverage < minimum:
            entry.demand_missing = (
                f"本期负荷曲线只收到 {demand.coverage}% 的数据（至少 {minimum}%），最大需量不可靠。"
                f" (Interval data covers {demand.coverage}% of the period, below {minimum}%.)"
            )
            continue
        entry.max_demand_kw = demand.kw
        entry.max_demand = {
            "kw": str(demand.kw),
            "source": "interval",
            "at": demand.at.isoformat(),
            "coverage_pct": str(demand.coverage),
        }


def _total(values: list[Decimal | None]) -> Decimal | None:
    """The sum of the values given (``None`` when none is)."""
    given = [v for v in values if v is not None]
    return sum(given, Decimal(0)) if given else None


def _shift(period: str, months: int) -> str:
    first = parse_period(period)
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def enabled_rules() -> list[tuple[str, dict[str, int]]]:
    """The plausibility rules the utility runs: the stored ones that are enabled, the engine's defaults where
    none is stored."""
    from gridcare.billing.models import PlausibilityRule
    from gridcare.engine.plausibility import DEFAULT_PARAMS

    stored = {r.code: r for r in PlausibilityRule.objects.all()}
    return [
        (code, {k: int(v) for k, v in (stored[code].params or {}).items()} if code in stored else {})
        for code in DEFAULT_PARAMS
        if code not in stored or stored[code].enabled
    ]


def account_id_bounds(run: BillingRun) -> list[int]:
    """The ids of the accounts a run selects, in order (to cut it into chunks of ``chunk_size``)."""
    return list(run_accounts(run).order_by("pk").values_list("pk", flat=True))


def runs_for(user: Any) -> QuerySet[BillingRun]:
    return restrict(BillingRun.objects.select_related("org_unit", "billed_unit", "route", "created_by"), user)


def bills_for(user: Any) -> QuerySet[Bill]:
    return restrict(Bill.objects.select_related("account", "run"), user)


@dataclass
class Explanation:
    """电费明细说明 — a bill re-rated line by line in the engine's explain mode from the inputs it was billed from:
    quantity × unit price × proration = amount per line, with the tariff version, the TOU split, the tier year
    before and after, and the power factor; ``matches`` says the stored lines are these, to the fen."""

    parts: list[tuple[str, Any, Any]]  # (tariff code, engine usage, engine bill)
    tier_before: Decimal
    tier_after: Decimal
    matches: bool


def explain(bill: Bill) -> Explanation:
    from gridcare.billing.rating import COMPENSATION, usage_from_dict
    from gridcare.engine.rating import rate

    parts: list[tuple[str, Any, Any]] = []
    by_code: dict[str, Decimal] = {}
    catalogue = {
        t.code: t
        for t in Tariff.objects.filter(
            code__in=[u["tariff"] for u in bill.inputs.get("usages", [])]
        ).prefetch_related("versions")
    }
    for raw in bill.inputs.get("usages", []):
        data = dict(raw)
        code = data.pop("tariff")
        usage = usage_from_dict(data)
        rated = rate(engine_tariff(catalogue[code]), usage)
        parts.append((code, usage, rated))
        for line_code, amount in rated.by_code().items():
            by_code[line_code] = by_code.get(line_code, Decimal("0.00")) + amount
    stored: dict[str, Decimal] = {}
    for ln in bill.lines.all():
        if ln.code != COMPENSATION:  # a bill of several tariffs has a line of one code per tariff
            stored[ln.code] = stored.get(ln.code, Decimal("0.00")) + ln.amount
    matches = stored == {k: v for k, v in by_code.items() if v}
    counted = bill.energy_kwh if bill.tier_kwh is None else bill.tier_kwh
    return Explanation(parts, bill.tier_ytd_kwh, bill.tier_ytd_kwh + counted, matches)
