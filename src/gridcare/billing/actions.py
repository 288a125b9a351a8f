"""Writes of the billing app: start a billing run (cut into account-id chunks), rate one chunk, finish a run.

A chunk is rated in one transaction under its own lock: load (set-based), rate (the engine's batch rating),
write (COPY / bulk), mark it done — so a chunk is either done with all its bills or not at all, and a chunk that is
done is never rated again. One regular bill per account and period is a unique constraint besides.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.billing.conf import conf
from gridcare.billing.models import (
    Bill,
    BillFinding,
    BillingRun,
    NotBilled,
    PlausibilityRule,
    RunChunk,
    SalesPlan,
)
from gridcare.billing.rating import rate_chunk
from gridcare.billing.review import review_chunk
from gridcare.billing.selectors import account_id_bounds, load_chunk
from gridcare.billing.writing import write_chunk
from gridcare.core import audit
from gridcare.core.access import get_in_scope, not_found_message, restrict
from gridcare.core.actions import action
from gridcare.core.collector import gc_paused
from gridcare.core.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from gridcare.core.locks import job_lock
from gridcare.core.numbering import Counter, reserve_numbers
from gridcare.customers.models import Account, ServicePoint
from gridcare.ledger.actions import post_bill_charges
from gridcare.org.models import OrgUnit, User
from gridcare.readings.models import Route
from gridcare.readings.periods import parse_period
from gridcare.service.models import Compensation

RUN_FIELDS = [
    "period",
    "scope",
    "org_unit",
    "route",
    "executor",
    "workers",
    "chunk_size",
    "accounts",
    "chunks",
]


def _scope_of(
    actor: User, org_unit: OrgUnit | None, route: Route | None, accounts: list[int] | None
) -> tuple[str, OrgUnit | None, Route | None, list[int]]:
    """Which accounts the run selects; every id resolves through the starter's scope (outside = unknown)."""
    given = [x for x in (org_unit, route, accounts) if x]
    if len(given) > 1:
        raise InvalidInput(
            {"scope": "请只选择单位、抄表段或户号清单之一。 (Choose one of unit, route or accounts.)"}
        )
    if route is not None:
        route = get_in_scope(Route.objects.all(), actor, pk=route.pk)
        return BillingRun.Scope.ROUTE, None, route, []
    if accounts:
        ids = sorted({int(a) for a in accounts})
        in_scope = restrict(Account.objects.filter(pk__in=ids), actor)
        found = set(in_scope.values_list("pk", flat=True))
        missing = [a for a in ids if a not in found]
        if missing:
            shown = "、".join(str(a) for a in missing[:10])
            raise InvalidInput(
                {
                    "accounts": f"户号 {shown} 不存在或不在您的数据范围内。 (Accounts not found or outside your scope.)"
                }
            )
        return BillingRun.Scope.ACCOUNTS, None, None, ids
    if org_unit is not None:
        return BillingRun.Scope.UNIT, _billable_unit(actor, org_unit.pk), None, []
    return BillingRun.Scope.COMPANY, None, None, []


def _billable_unit(actor: User, pk: int) -> OrgUnit:
    """A unit the starter may bill: in their data scope, or holding accounts their read scope reaches (the
    billing team reads every account of the company); otherwise it does not exist for them."""
    unit = OrgUnit.objects.filter(pk=pk).first()
    if unit is not None and (
        restrict(OrgUnit.objects.filter(pk=pk), actor).exists()
        or restrict(Account.objects.filter(org_unit__path__startswith=unit.path), actor).exists()
    ):
        return unit
    raise NotFound(not_found_message(OrgUnit))


@action("billing.start_run", permission="billing.run")
def do_start_run(
    actor: User,
    *,
    period: str,
    org_unit: OrgUnit | None = None,
    route: Route | None = None,
    accounts: list[int] | None = None,
    executor: str = BillingRun.Executor.INLINE,
    workers: int | None = None,
    chunk_size: int | None = None,
) -> BillingRun:
    """电费计算 — a run of ``period`` over the company (default), a unit, a route or a list of accounts, cut into
    chunks of consecutive account ids. Nothing is rated yet: an executor rates the chunks."""
    parse_period(period)
    if executor not in BillingRun.Executor.values:
        names = "、".join(BillingRun.Executor.values)
        raise InvalidInput({"executor": f"执行方式须为 {names}。 (Executor must be one of {names}.)"})
    size = int(chunk_size or conf("CHUNK_SIZE"))
    count = int(workers or conf("WORKERS"))
    if not 1 <= count <= int(conf("MAX_WORKERS")):
        raise InvalidInput(
            {
                "workers": f"并行数须在 1 到 {conf('MAX_WORKERS')} 之间。 (Workers must be 1–{conf('MAX_WORKERS')}.)"
            }
        )
    if size < 1:
        raise InvalidInput(
            {"chunk_size": "分块大小与并行数须为正整数。 (Chunk size and workers must be positive.)"}
        )
    scope, unit, route_obj, ids = _scope_of(actor, org_unit, route, accounts)
    home = actor.org_unit or OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    if home is None:  # the system account (CLI, demo) files its runs under the company
        raise InvalidInput({"scope": "没有组织机构。 (No organisation.)"})
    run = BillingRun.objects.create(
        period=period,
        scope=scope,
        org_unit=home,
        billed_unit=unit,
        route=route_obj,
        account_ids=ids,
        executor=executor,
        workers=count,
        chunk_size=size,
        created_by=actor,
    )
    selected = account_id_bounds(run)
    chunks = [
        RunChunk(
            run=run,
            number=n + 1,
            first_account=selected[i],
            last_account=selected[min(i + size, len(selected)) - 1],
            accounts=min(size, len(selected) - i),
        )
        for n, i in enumerate(range(0, len(selected), size))
    ]
    RunChunk.objects.bulk_create(chunks)
    run.accounts = len(selected)
    run.chunks = len(chunks)
    run.save(update_fields=["accounts", "chunks"])
    audit.record(actor, "billing.start_run", run, after=audit.snapshot(run, RUN_FIELDS))
    return run


@action("billing.rate_chunk", permission="billing.run")
def do_rate_chunk(actor: User, chunk_id: int) -> RunChunk:
    """Rate one chunk (load, rate, write) unless it is done already; counts go onto the chunk and the run."""
    with job_lock(f"billing.chunk:{chunk_id}"):
        # only the chunk's row: locking the joined run row too would make every other worker wait for this chunk
        chunk = (
            RunChunk.objects.select_for_update(of=("self",))
            .select_related("run", "run__created_by")
            .get(pk=chunk_id)
        )
        if chunk.status == RunChunk.Status.DONE:
            audit.record(actor, "billing.rate_chunk", chunk, note="already done")
            return chunk
        run = chunk.run
        started = timezone.now()
        with gc_paused(collect_young=True):
            t0 = time.perf_counter()
            data = load_chunk(run, chunk.first_account, chunk.last_account)
            t1 = time.perf_counter()
            rated = rate_chunk(data)
            review_chunk(data, rated)
            t2 = time.perf_counter()
            write_chunk(run, rated)
            t3 = time.perf_counter()
        total, energy = rated.total(), rated.energy()
        chunk.status = RunChunk.Status.DONE
        chunk.attempts += 1
        chunk.bills = rated.count
        chunk.not_billed = len(rated.not_billed)
        chunk.load_ms, chunk.rate_ms, chunk.write_ms = (
            round((t1 - t0) * 1000),
            round((t2 - t1) * 1000),
            round((t3 - t2) * 1000),
        )
        chunk.error = ""
        chunk.started_at, chunk.finished_at = started, timezone.now()
        chunk.save()
        BillingRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1,
            bills=F("bills") + chunk.bills,
            not_billed=F("not_billed") + chunk.not_billed,
            total=F("total") + total,
            energy_kwh=F("energy_kwh") + energy,
        )
        audit.record(
            actor,
            "billing.rate_chunk",
            chunk,
            after={"bills": chunk.bills, "not_billed": chunk.not_billed, "total": str(total)},
        )
        return chunk


@action("billing.chunk_failed", permission="billing.run")
def do_record_chunk_failure(actor: User, chunk_id: int, error: str) -> RunChunk:
    """Note a chunk that failed (its transaction rolled back, nothing of it was written): retried on resume."""
    chunk = RunChunk.objects.select_for_update().get(pk=chunk_id)
    if chunk.status != RunChunk.Status.DONE:
        chunk.status = RunChunk.Status.FAILED
        chunk.attempts += 1
        chunk.error = error[:500]
        chunk.save(update_fields=["status", "attempts", "error"])
    audit.record(actor, "billing.chunk_failed", chunk, after={"error": chunk.error})
    return chunk


@action("billing.begin_run", permission="billing.run")
def do_begin_run(actor: User, run: BillingRun) -> BillingRun:
    """Mark a run running (first start or resume); failed chunks are waiting again."""
    run = BillingRun.objects.select_for_update().get(pk=run.pk)
    run.status = BillingRun.Status.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.finished_at = None
    run.save(update_fields=["status", "started_at", "finished_at"])
    RunChunk.objects.filter(run=run, status=RunChunk.Status.FAILED).update(status=RunChunk.Status.PENDING)
    audit.record(actor, "billing.begin_run", run, after={"status": run.status})
    return run


@action("billing.finish_run", permission="billing.run")
def do_finish_run(actor: User, run: BillingRun) -> BillingRun:
    """Close a run: finished when every chunk is done, otherwise finished with failed chunks (resumable)."""
    run = BillingRun.objects.select_for_update().get(pk=run.pk)
    open_chunks = RunChunk.objects.filter(run=run).exclude(status=RunChunk.Status.DONE).count()
    run.status = BillingRun.Status.DONE if open_chunks == 0 else BillingRun.Status.FAILED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit.record(
        actor,
        "billing.finish_run",
        run,
        after={
            "status": run.status,
            "bills": run.bills,
            "not_billed": run.not_billed,
            "total": str(run.total),
        },
    )
    return run


# ----------------------------------------------------------------------------------- review and release (电费发行)

BILL_NUMBERS = Counter("bill", "billing_bill_number_seq")
RELEASABLE = (Bill.Status.DRAFT, Bill.Status.REVIEW)


def _due_days(classes: dict[int, str]) -> dict[int, int]:
    """Days from release to the due date per account, by the customer class of its first service point."""
    days: dict[str, int] = {k: int(v) for k, v in dict(conf("DUE_DAYS")).items()}
    return {account: days.get(cls, days["default"]) for account, cls in classes.items()}


def _account_classes(accounts: list[int]) -> dict[int, str]:
    classes: dict[int, str] = {}
    for account, cls in (
        ServicePoint.objects.filter(account_id__in=accounts)
        .order_by("account_id", "pk")
        .values_list("account_id", "customer_class")
    ):
        classes.setdefault(account, cls)
    return {a: classes.get(a, "") for a in accounts}


@action("billing.release", permission="billing.release")
def do_release_bills(actor: User, bills: QuerySet[Bill], *, single: bool = False) -> int:
    """电费发行 — release the draft and review bills of ``bills`` (as far as the releaser's scope reaches): each
    gets its number (core.numbering, one sequence, unique under concurrency), its due date per customer class and
    who released it when; from then on it never changes. Set-based: a few statements per batch of bills.
    ``single``: one bill asked for by id — a bill that cannot be released is refused with the reason."""
    scoped = restrict(bills, actor, write=True)
    if single:
        bill = scoped.first()
        if bill is None:
            raise NotFound(not_found_message(Bill))
        if bill.status not in RELEASABLE:
            raise InvalidTransition(bill.get_status_display(), str(Bill.Status.RELEASED.label), [])
    now = timezone.now()
    today = timezone.localdate(now)
    batch = int(conf("RELEASE_BATCH"))
    width = int(conf("NUMBER_WIDTH"))
    released = 0
    ids = list(scoped.filter(status__in=RELEASABLE).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        rows = list(
            Bill.objects.select_for_update()
            .filter(pk__in=ids[start : start + batch], status__in=RELEASABLE)
            .order_by("pk")
            .only("pk", "period", "account_id", "status", "total", "kind")
        )
        due = _due_days(_account_classes(sorted({b.account_id for b in rows})))
        by_period: dict[str, list[Bill]] = {}
        for bill in rows:
            by_period.setdefault(bill.period, []).append(bill)
        for period, group in by_period.items():
            prefix = f"{conf('NUMBER_PREFIX')}{period.replace('-', '')}"
            numbers = reserve_numbers(BILL_NUMBERS, Bill, prefix, width, len(group))
            for bill, number in zip(group, numbers, strict=True):
                bill.status = Bill.Status.RELEASED
                bill.number = number
                bill.due_date = today + dt.timedelta(days=due[bill.account_id])
                bill.released_at = now
                bill.released_by = actor if actor.pk else None
        Bill.objects.bulk_update(rows, ["status", "number", "due_date", "released_at", "released_by"])
        post_bill_charges(actor, rows)  # the ledger's charges, in the same transaction
        audit.bulk_record(
            actor,
            "billing.release",
            (
                {
                    "object_type": "billing.bill",
                    "object_id": b.pk,
                    "object_repr": b.number,
                    "after": {"number": b.number, "due_date": b.due_date, "total": b.total},
                }
                for b in rows
            ),
        )
        released += len(rows)
    audit.record(
        actor,
        "billing.release",
        object_type="billing.bill",
        object_id="*",
        object_repr=f"电费发行 {released} 笔",
        after={"released": released, "asked": len(ids)},
    )
    return released


def _open_bill(actor: User, pk: int) -> Bill:
    bill = get_in_scope(Bill.objects.select_for_update(), actor, write=True, pk=pk)
    if bill.status not in RELEASABLE:
        raise InvalidTransition(bill.get_status_display(), str(_("re-rated or reviewed")), [])
    return bill


@action("billing.accept_finding", permission="billing.release")
def do_accept_finding(actor: User, finding_id: int, reason: str) -> BillFinding:
    """接受异常 — the finding is explained (a reason is required); a bill without open findings is draft again,
    ready for release."""
    if not (reason or "").strip():
        raise InvalidInput({"reason": "请填写接受异常的理由。 (Give the reason for accepting the finding.)"})
    finding = get_in_scope(BillFinding.objects.select_related("bill"), actor, write=True, pk=finding_id)
    bill = _open_bill(actor, finding.bill_id)
    if finding.accepted:
        raise Conflict("该异常已被接受。 (The finding is accepted already.)")
    finding.accepted, finding.accepted_by, finding.accepted_at = True, actor, timezone.now()
    finding.reason = reason.strip()[:300]
    finding.save(update_fields=["accepted", "accepted_by", "accepted_at", "reason"])
    if not BillFinding.objects.filter(bill=bill, accepted=False).exists():
        Bill.objects.filter(pk=bill.pk).update(status=Bill.Status.DRAFT)
    audit.record(
        actor,
        "billing.accept_finding",
        bill,
        after={"rule": finding.get_rule_display(), "reason": finding.reason},
    )
    return finding


@action("billing.change_rule", permission="billing.manage_rules")
def do_change_plausibility_rule(
    actor: User, code: str, *, enabled: bool, params: dict[str, int]
) -> PlausibilityRule:
    """修改异常电费审核规则 — switch a plausibility rule on or off and set its parameters (every parameter of the
    rule, each within its bounds). The next billing run checks its bills with the new values."""
    from gridcare.billing.review import PARAM_LABELS
    from gridcare.engine.plausibility import DEFAULT_PARAMS

    if code not in DEFAULT_PARAMS:
        raise NotFound(f"没有审核规则 {code}。 (No such plausibility rule.)")
    expected = set(DEFAULT_PARAMS[code])
    if set(params) != expected:
        names = "、".join(sorted(expected)) or "无"
        raise InvalidInput(
            {"params": f"规则 {code} 的参数应为：{names}。 (The rule's parameters are: {names}.)"}
        )
    errors = {}
    for name, value in params.items():
        _label, low, high = PARAM_LABELS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = f"应为 {low} 到 {high} 之间的整数。 (A whole number from {low} to {high}.)"
    if errors:
        raise InvalidInput(errors)
    rule = PlausibilityRule.objects.select_for_update().filter(code=code).first()
    before = {"enabled": rule.enabled, "params": rule.params} if rule else {"enabled": True, "params": {}}
    rule = rule or PlausibilityRule(code=code)
    rule.enabled, rule.params = enabled, dict(params)
    rule.save()
    audit.record(
        actor, "billing.change_rule", rule, before=before, after={"enabled": enabled, "params": rule.params}
    )
    return rule


@action("billing.rerate", permission="billing.run")
def do_rerate_bill(actor: User, pk: int) -> Bill:
    """重新计费 — a draft or review bill rated again from the current determinants (after a reading correction):
    the old bill, its lines and findings are replaced by the new one (compensations it credited are credited to
    the new one), checked again by the plausibility rules. A released bill is never re-rated (退补)."""
    bill = _open_bill(actor, pk)
    run = bill.run
    if run is None or bill.kind != Bill.Kind.REGULAR:
        raise InvalidInput(
            {"bill": "只有电费计算批次生成的正常账单可以重新计费。 (Only a run's regular bill.)"}
        )
    before = {"total": str(bill.total), "energy_kwh": str(bill.energy_kwh)}
    credited = list(bill.lines.exclude(compensation=None).values_list("compensation_id", flat=True))
    Compensation.objects.filter(pk__in=credited).update(credited=False)
    old_total, old_energy = bill.total, bill.energy_kwh
    bill.delete()
    data = load_chunk(run, bill.account_id, bill.account_id)
    rated = rate_chunk(data)
    if rated.not_billed:
        _account, _reason, detail = rated.not_billed[0]
        label = NotBilled.Reason(_reason).label
        raise InvalidInput(
            {"bill": f"无法重新计费：{label}（{detail}）。 (The account cannot be billed now.)"}
        )
    review_chunk(data, rated)
    write_chunk(run, rated)
    new = Bill.objects.get(
        account_id=bill.account_id, period=bill.period, kind=Bill.Kind.REGULAR, run=run, status__in=RELEASABLE
    )
    BillingRun.objects.filter(pk=run.pk).update(
        total=F("total") + new.total - old_total, energy_kwh=F("energy_kwh") + new.energy_kwh - old_energy
    )
    audit.record(
        actor,
        "billing.rerate",
        new,
        before=before,
        after={"total": str(new.total), "energy_kwh": str(new.energy_kwh), "replaces": pk},
    )
    return new


# ------------------------------------------------------------------------------------------- 售电计划 (sales plan)

PLAN_FIELDS = ["org_unit_id", "month", "kwh", "revenue"]
#: the largest planned kWh and revenue the columns hold (16 digits with 3 and 2 decimals)
PLAN_MAX_KWH = Decimal("9999999999999.999")
PLAN_MAX_REVENUE = Decimal("99999999999999.99")
PLAN_YEARS = range(2000, 2101)


def _plan_value(
    raw: object, places: int, largest: Decimal, field: str, what: tuple[str, str], errors: dict[str, str]
) -> Decimal | None:
    """A planned figure as a Decimal of at most ``places`` decimals, ≥ 0; otherwise an error under ``field``."""
    chinese, english = what
    if raw is None or str(raw).strip() == "":
        errors[field] = f"请填写{chinese}。 (Give the {english.lower()}.)"
        return None
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        errors[field] = f"{chinese}须为数字。 ({english} must be a number.)"
        return None
    if not value.is_finite():
        errors[field] = f"{chinese}须为数字。 ({english} must be a number.)"
    elif value < 0:
        errors[field] = f"{chinese}不能为负。 ({english} cannot be negative.)"
    elif value > largest:
        errors[field] = f"{chinese}过大（最多 {largest:,}）。 ({english} is too large: at most {largest:,}.)"
    elif value != value.quantize(Decimal(1).scaleb(-places)):
        errors[field] = f"{chinese}最多 {places} 位小数。 ({english} has at most {places} decimals.)"
    else:
        return value.quantize(Decimal(1).scaleb(-places))
    return None


def _plan_months(
    year: int, months: Mapping[int, tuple[object, object]]
) -> dict[int, tuple[Decimal, Decimal]]:
    """Every month and figure checked before anything is written; every error at once."""
    errors: dict[str, str] = {}
    if year not in PLAN_YEARS:
        errors["year"] = (
            f"年份须在 {PLAN_YEARS[0]}–{PLAN_YEARS[-1]} 之间。 (The year must be {PLAN_YEARS[0]}–{PLAN_YEARS[-1]}.)"
        )
    if not months:
        errors["months"] = "请至少填写一个月的计划。 (Give the plan of at least one month.)"
    checked: dict[int, tuple[Decimal, Decimal]] = {}
    for month, figures in months.items():
        if not isinstance(month, int) or not 1 <= month <= 12:
            errors["months"] = f"月份须为 1–12，收到 {month}。 (Months are 1–12, got {month}.)"
            continue
        try:
            raw_kwh, raw_revenue = figures
        except (TypeError, ValueError):
            errors[f"kwh_{month}"] = (
                f"{month} 月须给出计划电量和计划电费。 (Give the planned kWh and revenue of month {month}.)"
            )
            continue
        kwh = _plan_value(raw_kwh, 3, PLAN_MAX_KWH, f"kwh_{month}", ("计划电量", "Planned kWh"), errors)
        revenue = _plan_value(
            raw_revenue, 2, PLAN_MAX_REVENUE, f"revenue_{month}", ("计划电费收入", "Planned revenue"), errors
        )
        if kwh is not None and revenue is not None:
            checked[month] = (kwh, revenue)
    if errors:
        raise InvalidInput(errors)
    return checked


@action("billing.set_sales_plan", permission="sales_plan.set")
def do_set_sales_plan(
    actor: User, unit: OrgUnit | int, year: int, months: Mapping[int, tuple[object, object]]
) -> list[SalesPlan]:
    """制定售电计划 — the planned kWh and revenue (元) of ``unit`` for the given months of ``year`` (the months not
    given keep their plan). The unit must be in the actor's write scope (outside: not found); every figure is
    checked first (≥ 0, kWh to 3 and 元 to 2 decimals) and nothing is written when one is wrong. One audit row per
    month whose plan is new or changed (before/after)."""
    pk = unit.pk if isinstance(unit, OrgUnit) else unit
    found = get_in_scope(OrgUnit.objects.all(), actor, write=True, pk=pk)
    if not found.is_active:
        raise InvalidInput({"org_unit": "该单位已停用。 (The unit is inactive.)"})
    checked = _plan_months(year, months)
    # two people setting the same unit's plan at once: the second waits for the first (its new months included,
    # which no row lock of the plans themselves could cover) and then sees them
    list(OrgUnit.objects.select_for_update().filter(pk=found.pk).values_list("pk"))
    firsts = {month: dt.date(year, month, 1) for month in checked}
    existing = {
        plan.month: plan
        for plan in SalesPlan.objects.select_for_update()
        .filter(org_unit=found, month__in=firsts.values())
        .order_by("pk")
    }
    now = timezone.now()
    saved: list[SalesPlan] = []
    changed = 0
    for month in sorted(checked):
        kwh, revenue = checked[month]
        plan = existing.get(firsts[month])
        if plan is not None and (plan.kwh, plan.revenue) == (kwh, revenue):
            saved.append(plan)
            continue
        before = audit.snapshot(plan, PLAN_FIELDS) if plan is not None else None
        if plan is None:
            plan = SalesPlan(org_unit=found, month=firsts[month])
        plan.kwh, plan.revenue, plan.set_by, plan.set_at = kwh, revenue, actor, now
        plan.save()
        audit.record(
            actor, "billing.set_sales_plan", plan, before=before, after=audit.snapshot(plan, PLAN_FIELDS)
        )
        saved.append(plan)
        changed += 1
    if not changed:  # the same figures again: said so in the log, nothing else written
        audit.record(actor, "billing.set_sales_plan", found, note=f"{year}: unchanged")
    return saved
