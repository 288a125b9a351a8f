"""Benchmark: prospect registration collision check (防止撞单) against 1,000,000 registered prospects and
customers on PostgreSQL — target p95 ≤ 50 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare_keyaccounts \\
        .venv/bin/python benchmarks/prospect_collision.py [--prospects 500000] [--customers 500000] [--checks 300]

Uses a dedicated database: it is migrated and, when it holds fewer rows, filled with synthetic companies (city
+ 2–3 distinctive characters + industry word + legal form, e.g. 山南华锦精密机械有限公司) — held prospects and
organisation customers. Then it builds the process's name index once (cold start, timed) and runs ``--checks``
collision checks (:func:`gridcare.keyaccounts.collision.find_collision`, the whole check a registration makes:
credit code, normalised name and address on their indexes, then the fuzzy name search confirmed in the
database): a third exact duplicates under another spelling, a third one-character variants, a third new
companies (the full path, nothing found). Prints wall p50 / p95 / max per check, CPU time and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")

CITIES = [
    "城关",
    "河西",
    "山南",
    "城东",
    "江北",
    "湖滨",
    "临港",
    "东阳",
    "西岭",
    "南湖",
    "北塘",
    "新桥",
    "青山",
    "白沙",
    "金川",
    "玉泉",
    "长宁",
    "安平",
    "永和",
    "清河",
]
INDUSTRY = [
    "科技",
    "机械",
    "电子",
    "化工",
    "食品",
    "纺织",
    "建材",
    "物流",
    "医药",
    "塑胶",
    "五金",
    "包装",
    "印刷",
    "环保",
    "能源",
    "材料",
    "汽配",
    "光电",
    "精密",
    "制冷",
]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司", "厂"]
# distinctive characters of Chinese company names (字号)
CORE = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]


def company_name(rng: random.Random) -> str:
    core = "".join(rng.choice(CORE) for _ in range(rng.choice((2, 3, 3))))
    return f"{rng.choice(CITIES)}{core}{rng.choice(INDUSTRY)}{rng.choice(FORMS)}"


def fill(prospects: int, customers: int, seed: int = 2026) -> None:
    from django.db import connection

    from gridcare.customers.models import Customer
    from gridcare.engine.names import normalise_name
    from gridcare.keyaccounts.models import Prospect
    from gridcare.org.models import OrgUnit, User

    rng = random.Random(seed)
    unit = OrgUnit.objects.get(code="TZ")
    station = OrgUnit.objects.get(code="CG")
    owner = User.objects.get(username="sales")
    have = Prospect.objects.count()
    started = time.perf_counter()
    seen: set[str] = set(Prospect.objects.values_list("normalised_name", flat=True))
    batch: list[Prospect] = []
    n = have
    while n < prospects:
        name = company_name(rng)
        key = normalise_name(name)
        if key in seen:
            continue
        seen.add(key)
        n += 1
        batch.append(
            Prospect(
                number=f"BB{n:09d}",
                name=name,
                normalised_name=key,
                address=f"{name[:2]}产业园 {n} 号",
                normalised_address=f"{name[:2]}产业园{n}号",
                industry="manufacturing",
                region=station,
                expected_capacity_kva=1000,
                expected_annual_kwh=1_000_000,
                owner=owner,
                unit=unit,
            )
        )
        if len(batch) == 20_000:
            Prospect.objects.bulk_create(batch)
            batch = []
    Prospect.objects.bulk_create(batch)
    batch_c: list[Customer] = []
    m = Customer.objects.filter(number__startswith="BC").count()
    while m < customers:
        m += 1
        batch_c.append(
            Customer(
                number=f"BC{m:09d}",
                kind="organisation",
                name=company_name(rng),
                id_type="other",
                id_number=f"BENCH{m:09d}",
                org_unit=station,
            )
        )
        if len(batch_c) == 20_000:
            Customer.objects.bulk_create(batch_c)
            batch_c = []
    Customer.objects.bulk_create(batch_c)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE keyaccounts_prospect; ANALYZE customers_customer")
    print(f"filled in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prospects", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--checks", type=int, default=300)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run this against PostgreSQL: set DATABASE_URL to a dedicated database.")
    call_command("migrate", verbosity=0)
    from gridcare.customers.models import Customer
    from gridcare.engine.names import normalise_address, normalise_name
    from gridcare.keyaccounts.collision import find_collision, name_index
    from gridcare.keyaccounts.conf import conf
    from gridcare.keyaccounts.models import Prospect
    from gridcare.org.models import OrgUnit

    if not OrgUnit.objects.filter(code="GC").exists():
        from gridcare.org import demo
        from gridcare.org.selectors import system_actor

        call_command("load_catalogue", verbosity=0)
        list(demo.build(system_actor(), "small"))
    fill(args.prospects, args.customers)
    total = Prospect.objects.filter(status="held").count() + Customer.objects.count()
    print(f"registered: {total:,} held prospects and customers; threshold {conf('SIMILAR_NAME_THRESHOLD')}")

    started, cpu = time.perf_counter(), time.process_time()
    index = name_index()
    print(
        f"name index (cold start): {len(index):,} names in {time.perf_counter() - started:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU"
    )

    rng = random.Random(7)
    sample = list(Prospect.objects.order_by("?").values_list("name", flat=True)[: args.checks])
    queries: list[tuple[str, str]] = []
    for i, name in enumerate(sample):
        if i % 3 == 0:
            queries.append(("duplicate", name.replace("有限公司", "（集团）股份有限公司")))
        elif i % 3 == 1:
            at = rng.randrange(2, len(normalise_name(name)))
            queries.append(("variant", name[:at] + rng.choice(CORE) + name[at + 1 :]))
        else:
            queries.append(("new", company_name(rng)))
    times: dict[str, list[float]] = {"duplicate": [], "variant": [], "new": []}
    found: dict[str, int] = {k: 0 for k in times}
    cpu = time.process_time()
    for kind, name in queries:
        t0 = time.perf_counter()
        hit = find_collision(
            normalised_name=normalise_name(name),
            credit_code="",
            normalised_address=normalise_address(f"{name}路 1 号"),
        )
        times[kind].append((time.perf_counter() - t0) * 1000)
        found[kind] += hit is not None
    cpu_ms = (time.process_time() - cpu) * 1000 / len(queries)
    every = sorted(t for values in times.values() for t in values)

    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    for kind, values in times.items():
        print(
            f"  {kind:<9} n={len(values):>4}  found {found[kind]:>4}  p50 {statistics.median(values):6.1f} ms  "
            f"p95 {p(values, 0.95):6.1f} ms  max {max(values):6.1f} ms"
        )
    print(
        f"all checks: p50 {statistics.median(every):.1f} ms, p95 {p(every, 0.95):.1f} ms, max {max(every):.1f} ms; "
        f"CPU {cpu_ms:.1f} ms per check; load average {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f}"
    )


if __name__ == "__main__":
    main()
