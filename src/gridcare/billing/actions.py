"""Writes of the billing app: start a billing run (cut into account-id chunks), rate one chunk, finish a run.

A chunk is rated in one transaction under its own lock: load (set-based), rate (the engine's batch rating),
write (COPY / bulk), mark it done — so a chunk is either done with all its bills or not at all, and a chunk that is
done is never rated again. One regular bill per account and period is a unique constraint besides.
"""

from __future__ import annotations

import time
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from gridcare.billing.conf import conf
from gridcare.billing.models import BillingRun, RunChunk
from gridcare.billing.rating import rate_chunk
from gridcare.billing.selectors import account_id_bounds, load_chunk
from gridcare.billing.writing import write_chunk
from gridcare.core import audit
from gridcare.core.access import get_in_scope, not_found_message, restrict
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput, NotFound
from gridcare.core.locks import job_lock
from gridcare.customers.models import Account
from gridcare.org.models import OrgUnit, User
from gridcare.readings.models import Route
from gridcare.readings.periods import parse_period

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
        chunk = RunChunk.objects.select_for_update().select_related("run", "run__created_by").get(pk=chunk_id)
        if chunk.status == RunChunk.Status.DONE:
            audit.record(actor, "billing.rate_chunk", chunk, note="already done")
            return chunk
        run = chunk.run
        started = timezone.now()
        t0 = time.perf_counter()
        data = load_chunk(run, chunk.first_account, chunk.last_account)
        t1 = time.perf_counter()
        rated = rate_chunk(data)
        t2 = time.perf_counter()
        write_chunk(run, rated.bills, rated.not_billed)
        t3 = time.perf_counter()
        total = sum((b.total for b in rated.bills), Decimal(0))
        energy = sum((b.energy_kwh for b in rated.bills), Decimal(0))
        chunk.status = RunChunk.Status.DONE
        chunk.attempts += 1
        chunk.bills = len(rated.bills)
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
