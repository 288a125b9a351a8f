"""Benchmark: fast customer search (快速查询) at 1,000,000 accounts on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare_bench_customers \\
        .venv/bin/python benchmarks/customer_search.py [--repeat 20] [--build]

Uses a dedicated database. With ``--build`` (or when it holds fewer than 1,000,000 accounts) the database is
migrated and filled with ``gridcare demo --scale large`` first. Queries are sampled from the data itself:
户号 (full, prefix, partial), names (full, surname prefix, partial), mobile numbers (full, prefix, partial),
addresses (partial) and meter numbers (full, partial), each run as three users — company scope (营销服务部经理),
a station's service rep (subtree scope) and the key account manager (own scope). Prints p50 / p95 / max in ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20, help="runs of each query (after one warm-up)")
    parser.add_argument("--build", action="store_true", help="fill the database with the large demo first")
    args = parser.parse_args()

    import django

    django.setup()
    from importlib import import_module

    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run this against PostgreSQL: set DATABASE_URL to a dedicated database.")
    call_command("migrate", verbosity=0)
    from gridcare.customers.models import Account, Contact, ServicePoint
    from gridcare.customers.selectors import search_accounts
    from gridcare.metering.models import Meter
    from gridcare.org.models import User

    if args.build or Account.objects.count() < 1_000_000:
        started = time.perf_counter()
        call_command("demo", scale="large")
        print(f"built the large demo in {time.perf_counter() - started:.0f} s")
    for module in (
        "gridcare.customers.migrations.0003_search_indexes",
        "gridcare.metering.migrations.0002_search_indexes",
    ):
        with connection.schema_editor() as editor:  # idempotent: makes sure every search index exists
            import_module(module).create(None, editor)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    rng = random.Random(2026)
    total = Account.objects.count()
    ids = [rng.randint(1, Account.objects.order_by("-id").values_list("id", flat=True)[0]) for _ in range(40)]
    accounts = list(Account.objects.filter(id__in=ids).select_related("customer")[:10])
    mobiles = list(
        Contact.objects.filter(customer__in=[a.customer for a in accounts]).values_list("mobile", flat=True)[
            :5
        ]
    )
    addresses = list(ServicePoint.objects.filter(account__in=accounts).values_list("address", flat=True)[:5])
    meters = list(
        Meter.objects.filter(service_point__account__in=accounts).values_list("asset_no", flat=True)[:5]
    )
    queries: dict[str, list[str]] = {
        "户号 full": [a.number for a in accounts[:5]],
        "户号 prefix (6)": [a.number[:6] for a in accounts[:3]],
        "户号 partial (last 6)": [a.number[-6:] for a in accounts[:5]],
        "name full": [a.name for a in accounts[:5]],
        "name surname prefix (1 char)": [a.name[:1] for a in accounts[:3]],
        "name partial (3 chars)": [a.name[-3:] for a in accounts if len(a.name) >= 4][:3] or ["水泥有"],
        "mobile full": mobiles,
        "mobile prefix (7)": [m[:7] for m in mobiles[:3]],
        "mobile partial (last 4)": [m[-4:] for m in mobiles[:3]],
        "address partial": [a[3:10] for a in addresses],
        "meter full": meters,
        "meter partial (last 7)": [m[-7:] for m in meters[:3]],
        "no match": ["查无此人", "9999999999999"],
    }
    users = {name: User.objects.get(username=name) for name in ("manager", "cg_rep", "key_account")}
    print(
        f"accounts: {total:,}; PostgreSQL {connection.pg_version}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; {args.repeat} runs per query and user (after 1 warm-up)"
    )
    every: list[float] = []
    print(f"{'query kind':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'hits':>6}")
    for kind, values in queries.items():
        timings: list[float] = []
        hits = 0
        for value in values:
            for user in users.values():
                search_accounts(user, value)
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    found = search_accounts(user, value)
                    timings.append((time.perf_counter() - started) * 1000)
                hits = max(hits, len(found))
        every += timings
        timings.sort()
        print(
            f"{kind:32} {statistics.median(timings):8.1f} {timings[int(len(timings) * 0.95) - 1]:8.1f} "
            f"{timings[-1]:8.1f} {hits:6}"
        )
    every.sort()
    p95 = every[int(len(every) * 0.95) - 1]
    print(f"{'ALL':32} {statistics.median(every):8.1f} {p95:8.1f} {every[-1]:8.1f}")
    print(
        f"search p95 = {p95:.1f} ms over {len(every)} searches (target ≤ 50 ms): {'OK' if p95 <= 50 else 'SLOW'}"
    )


if __name__ == "__main__":
    main()
