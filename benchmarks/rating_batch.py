"""Benchmark: 1,000,000 monthly register-based bills of mixed Chinese tariffs, batch engine.

    .venv/bin/python benchmarks/rating_batch.py [--n 1000000] [--seed 7] [--check 300]

Bills are spread over the shipped tariffs (Zhejiang annual tiers, Zhejiang TOU + tiers, Sichuan
seasonal monthly tiers, Shanghai-style general I&C TOU in two price versions, large-industry
two-part TOU with power-factor adjustment and funds).  Data generation and rating are timed
separately; the rating time covers grouping by tariff version and every line of every bill
(int64 分, half-up per line).  A sample of bills is re-rated in explain mode and must agree.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from gridcare.engine.batch import BatchInput, compile_catalog, rate_batch
from gridcare.engine.money import fen_to_yuan
from gridcare.engine.rating import Usage, rate
from gridcare.engine.tariff import PERIODS, load_shipped_tariff

#: (tariff, share of the bills): residential majority, as in a real service territory
MIX = [
    ("zhejiang_residential_tiered", 0.40),
    ("zhejiang_residential_tou_tiered", 0.20),
    ("sichuan_residential_seasonal", 0.15),
    ("shanghai_general_ic_tou", 0.20),
    ("large_industrial_two_part_tou", 0.05),
]


def generate(n: int, seed: int) -> tuple[list, object, BatchInput, np.ndarray]:
    """Random but plausible monthly registers (0.001 kWh) for ``n`` bills."""
    rng = np.random.default_rng(seed)
    tariffs = [load_shipped_tariff(name) for name, _ in MIX]
    catalog = compile_catalog(tariffs)
    which = rng.choice(len(MIX), size=n, p=[share for _, share in MIX])
    month = rng.integers(1, 13, size=n)
    version = np.empty(n, dtype=np.int64)
    energy = np.zeros((n, 5), dtype=np.int64)
    reactive = np.full(n, -1, dtype=np.int64)
    capacity = np.full(n, -1, dtype=np.int64)
    contracted = np.full(n, -1, dtype=np.int64)
    max_demand = np.full(n, -1, dtype=np.int64)
    basis = np.full(n, -1, dtype=np.int64)
    ytd = np.zeros(n, dtype=np.int64)
    year = np.where(rng.random(n) < 0.5, 2024, 2025)
    for t_i, tariff in enumerate(tariffs):
        rows = np.flatnonzero(which == t_i)
        k = rows.size
        code = tariff.code
        if len(tariff.versions) == 1:
            version[rows] = catalog.index_of(code, 0)
        else:  # Shanghai: 2024 and 2025 prices
            version[rows] = np.where(year[rows] == 2024, catalog.index_of(code, 0), catalog.index_of(code, 1))
        name = MIX[t_i][0]
        if name in ("zhejiang_residential_tiered", "sichuan_residential_seasonal"):
            energy[rows, 4] = rng.gamma(2.0, 120.0, size=k).astype(np.int64) * 1000 + rng.integers(
                0, 1000, size=k
            )
            ytd[rows] = rng.integers(0, 6_000_000, size=k) * (name.startswith("zhejiang"))
        elif name == "zhejiang_residential_tou_tiered":
            total = rng.gamma(2.0, 150.0, size=k) * 1000
            share = rng.uniform(0.4, 0.8, size=k)
            energy[rows, PERIODS.index("peak")] = (total * share).astype(np.int64)
            energy[rows, PERIODS.index("valley")] = (total * (1 - share)).astype(np.int64)
            ytd[rows] = rng.integers(0, 6_000_000, size=k)
        else:
            industrial = name == "large_industrial_two_part_tou"
            scale = 400_000.0 if industrial else 8_000.0
            total = rng.gamma(1.5, scale, size=k) * 1000
            split = rng.dirichlet([0.5, 3, 4, 3], size=k)
            summer = np.isin(month[rows], (7, 8))
            split[~summer, 0] = 0.0  # critical peak only in July and August
            split /= split.sum(axis=1, keepdims=True)
            energy[rows, :4] = (total[:, None] * split).astype(np.int64)
            reactive[rows] = (total * rng.uniform(0.2, 0.9, size=k)).astype(np.int64)
            if industrial:
                capacity[rows] = rng.choice([315, 630, 1250, 2500, 5000, 10000, 40000], size=k) * 1000
                basis[rows] = rng.integers(0, 2, size=k)
                max_demand[rows] = (capacity[rows] * rng.uniform(0.2, 0.9, size=k)).astype(np.int64)
                has_contract = rng.random(k) < 0.7
                contracted[rows] = np.where(
                    has_contract, (capacity[rows] * rng.uniform(0.3, 0.8, size=k)).astype(np.int64), -1
                )
            else:
                capacity[rows] = rng.choice([50, 80, 100, 200, 315, 630], size=k) * 1000
    x = BatchInput.monthly(
        version,
        energy,
        days=30,
        billing_month=month,
        reactive=reactive,
        capacity=capacity,
        contracted=contracted,
        max_demand=max_demand,
        basis=basis,
        tier_ytd=ytd,
    )
    return tariffs, catalog, x, year


def explain_check(
    tariffs: list,
    catalog: object,
    x: BatchInput,
    year: np.ndarray,
    totals: np.ndarray,
    sample: int,
    seed: int,
) -> int:
    """Re-rate ``sample`` random bills in explain mode; return how many disagree (expected 0)."""
    rng = np.random.default_rng(seed + 1)
    by_code = {t.code: t for t in tariffs}
    bad = 0
    for i in rng.choice(len(x), size=min(sample, len(x)), replace=False):
        cv = catalog.versions[int(x.version[i])]  # type: ignore[attr-defined]
        tariff = by_code[cv.tariff_code]
        m = int(x.billing_month[i])
        start = date(int(year[i]), m, 1)
        end = start + timedelta(days=30)
        keys = (*PERIODS, "total")
        energy = {k: Decimal(int(v)).scaleb(-3) for k, v in zip(keys, x.energy[i], strict=True) if v}
        if not energy:
            energy = {"total": Decimal(0)} if not cv.version.is_tou else {"flat": Decimal(0)}

        def q(v: int) -> Decimal | None:
            return None if v < 0 else Decimal(int(v)).scaleb(-3)

        usage = Usage(
            start,
            end,
            energy,
            reactive_kvarh=q(int(x.reactive[i])),
            capacity_kva=q(int(x.capacity[i])),
            contracted_demand_kw=q(int(x.contracted[i])),
            max_demand_kw=q(int(x.max_demand[i])),
            basic_basis={-1: None, 0: "capacity", 1: "demand"}[int(x.basis[i])],
            billing_month=m,
            tier_ytd_kwh=Decimal(int(x.tier_ytd[i])).scaleb(-3),
        )
        if rate(tariff, usage).total != fen_to_yuan(int(totals[i])):
            bad += 1
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", type=int, default=300, help="bills re-rated in explain mode")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    t0 = time.perf_counter()
    tariffs, catalog, x, year = generate(args.n, args.seed)
    t_gen = time.perf_counter() - t0
    print(
        f"data generation : {t_gen:7.3f} s  ({args.n:,} monthly bills, {len(catalog.versions)} tariff versions)"
    )  # type: ignore[attr-defined]

    rate_batch(catalog, x.take(np.arange(min(1000, args.n))))  # imports and code paths, not timed
    t0 = time.perf_counter()
    result = rate_batch(catalog, x)  # type: ignore[arg-type]
    t_rate = time.perf_counter() - t0
    print(f"rating compute  : {t_rate:7.3f} s  ({args.n / t_rate:,.0f} bills/s; goal ≤ 5 s for 1,000,000)")
    # a billing worker rates chunk after chunk: the second run reuses memory the first one faulted in
    t0 = time.perf_counter()
    again = rate_batch(catalog, x)  # type: ignore[arg-type]
    t_again = time.perf_counter() - t0
    assert np.array_equal(again.amounts, result.amounts)
    print(f"  steady state  : {t_again:7.3f} s  ({args.n / t_again:,.0f} bills/s, same run repeated)")

    totals = result.total
    print(f"lines per bill  : {len(result.codes)} codes; billed total {fen_to_yuan(int(totals.sum())):,} 元")
    for cv_i, cv in enumerate(catalog.versions):  # type: ignore[attr-defined]
        rows = x.version == cv_i
        print(
            f"  {cv.tariff_code:<22} from {cv.valid_from}  {int(rows.sum()):>9,} bills  avg {fen_to_yuan(int(totals[rows].mean() if rows.any() else 0)):>12,} 元"
        )
    if args.check:
        t0 = time.perf_counter()
        bad = explain_check(tariffs, catalog, x, year, totals, args.check, args.seed)
        print(
            f"explain-mode check: {args.check} random bills re-rated, {bad} differ ({time.perf_counter() - t0:.2f} s)"
        )


if __name__ == "__main__":
    main()
