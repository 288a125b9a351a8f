"""Client CPU of one billing chunk by phase (issue #12): load, rate, review, write — ``time.process_time`` of this
process around each phase, the PostgreSQL server's share not counted.

    DATABASE_URL=postgres://…/gridcare_bench_bill .venv/bin/python benchmarks/billing_chunk_profile.py \
        [--chunk-size 5000] [--repeat 5] [--cprofile 30]

Needs the accounts seeded by ``benchmarks/billing_run.py`` (same database). Each repetition rates the chunk of the
first ``--chunk-size`` accounts through the same functions the chunk action calls and rolls back, so nothing is
kept (the benchmark database's billing tables are emptied first, as ``billing_run.py`` does); ``--cprofile N`` prints the N costliest functions (cumulative) of one more repetition.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import os
import pstats
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cprofile", type=int, default=0)
    parser.add_argument("--no-gc-pause", action="store_true", help="keep the cyclic GC running (comparison)")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative, tottime, …")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.db import connection, transaction

    from gridcare.billing.models import Bill, BillingRun, BillLine, NotBilled, RunChunk
    from gridcare.billing.rating import rate_chunk
    from gridcare.billing.review import review_chunk
    from gridcare.billing.selectors import load_chunk
    from gridcare.billing.writing import write_chunk
    from gridcare.core.collector import gc_paused
    from gridcare.customers.models import Account
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    first = Account.objects.order_by("pk").values_list("pk", flat=True).first()
    if first is None:
        raise SystemExit("no accounts: seed them with benchmarks/billing_run.py first")
    last = first + args.chunk_size - 1
    with connection.cursor() as cursor:
        for model in (BillLine, Bill, NotBilled, RunChunk, BillingRun):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    actor = system_actor()

    def once() -> tuple[float, float, float, float, float, int, int]:
        with transaction.atomic(), pause():  # as the chunk action does
            run = BillingRun.objects.create(
                period="2026-11",
                org_unit=OrgUnit.objects.filter(parent__isnull=True).order_by("path").first(),
                created_by=actor,
                chunk_size=args.chunk_size,
            )
            t0 = time.process_time()
            data = load_chunk(run, first, last)
            t1 = time.process_time()
            rated = rate_chunk(data)
            t2 = time.process_time()
            review_chunk(data, rated)
            t3 = time.process_time()
            write_chunk(run, rated)
            t4 = time.process_time()
            transaction.set_rollback(True)
        t5 = time.process_time()  # after the rollback and the collection of what the chunk left
        return t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, rated.count, len(rated.not_billed)

    pause = contextlib.nullcontext if args.no_gc_pause else functools.partial(gc_paused, collect_young=True)
    once()  # warm-up: imports, tariff compilation caches, the connection
    rows = [once() for _ in range(args.repeat)]
    for load, rate, review, write, after, bills, skipped in rows:
        print(
            f"chunk of {args.chunk_size:,}: {bills:,} bills, {skipped:,} not billed — client CPU load {load:.3f} s · "
            f"rate {rate:.3f} s · review {review:.3f} s · write {write:.3f} s · rollback + gc {after:.3f} s "
            f"= {load + rate + review + write + after:.3f} s"
        )
    best = min(rows, key=lambda r: sum(r[:5]))
    total = sum(best[:5])
    print(f"best: {total:.3f} s per chunk → {total / max(best[5], 1) * 1e6:.0f} µs per bill")
    if args.cprofile:
        profile = cProfile.Profile()
        profile.runcall(once)
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.cprofile)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:,.0f} MB; load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
