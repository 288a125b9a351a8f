"""Late fees (电费违约金) over a million overdue bills with ``gridcare.engine.latefees`` (target of #13: ≤ 5 s).

Generates N overdue bills (default 1,000,000): amounts 10 元 – 200,000 元 (log-uniform), due dates over the last two years
(so many cross the year boundary), 60 % residential, bill year = the year of the month before the due date, and a
third of them with one to three partial payments (1.6 allocations per bill with payments). Times
:func:`late_fees` at an evaluation date (wall and CPU time, load average), checks the results on a sample against
a plain per-bill Python implementation (integer arithmetic, one bill at a time) and prints that reference's time
extrapolated to N as the ratio.

    .venv/bin/python benchmarks/late_fees.py
    .venv/bin/python benchmarks/late_fees.py --bills 200000 --sample 5000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gridcare.engine.latefees import LateFeeRules, Payments, late_fees  # noqa: E402

EVALUATION = np.datetime64("2026-11-30")


def generate(n: int, seed: int = 2026) -> tuple[dict[str, np.ndarray], Payments]:
    rng = np.random.default_rng(seed)
    due = EVALUATION - rng.integers(1, 730, n).astype("timedelta64[D]")
    amount = np.exp(rng.uniform(np.log(1_000), np.log(20_000_000), n)).astype(np.int64)  # log-uniform
    residential = rng.random(n) < 0.6
    bill_year = (due - np.timedelta64(25, "D")).astype("datetime64[Y]").astype(np.int64) + 1970
    with_payments = np.flatnonzero(rng.random(n) < 1 / 3)
    count = rng.integers(1, 4, with_payments.size)
    bill = np.repeat(with_payments, count)
    # each allocation pays a share of what its bill owes, on a day from 20 days before to 400 days after the due date
    share = rng.random(bill.size)
    order = np.argsort(bill, kind="stable")
    bill = bill[order]
    weight = np.zeros(n)
    np.add.at(weight, bill, share)
    paid = np.floor(amount[bill] * share / weight[bill] * rng.uniform(0.3, 1.0, bill.size)).astype(np.int64)
    paid = np.maximum(paid, 1)
    paid_day = due[bill] + rng.integers(-20, 400, bill.size).astype("timedelta64[D]")
    bills = {"amount": amount, "due": due, "year": bill_year, "residential": residential}
    return bills, Payments(bill.astype(np.int64), paid_day, paid)


def reference(
    amount: int,
    due: int,
    year: int,
    residential: bool,
    until: int,
    payments: list[tuple[int, int]],
    rules: LateFeeRules,
) -> int:
    """One bill, plain Python integers: each piece (paid amount or remainder) × its rate-days, rounded once."""
    boundary = (date(year + 1, 1, 1) - date(1970, 1, 1)).days
    cur = rules.residential_ppm if residential else rules.current_year_ppm
    early = rules.residential_ppm if residential else rules.earlier_year_ppm
    total = 0
    remainder = amount
    for day, fen in payments:
        remainder -= fen
        pieces_last = min(day, until)
        days = max(pieces_last - due, 0)
        in_year = min(max(boundary - 1 - due, 0), days)
        total += fen * (in_year * cur + (days - in_year) * early)
    days = max(until - due, 0)
    in_year = min(max(boundary - 1 - due, 0), days)
    total += remainder * (in_year * cur + (days - in_year) * early)
    if total == 0:
        return 0
    q, r = divmod(total, 10**6)
    return max(q + (2 * r >= 10**6), rules.minimum_fen)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bills", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000, help="bills for the scalar reference")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    bills, payments = generate(args.bills)
    print(
        f"generated {args.bills:,} overdue bills and {payments.bill.size:,} partial payments "
        f"in {time.perf_counter() - started:.2f} s"
    )
    rules = LateFeeRules()
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        load = os.getloadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        result = late_fees(
            bills["amount"], bills["due"], bills["year"], bills["residential"], EVALUATION, payments, rules
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"late fees of {args.bills:,} bills: {wall:.3f} s wall, {cpu:.3f} s CPU "
            f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
        )
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    charged = result.fee_fen
    print(
        f"  total late fees {charged.sum() / 100:,.2f} 元; bills charged {int((charged > 0).sum()):,}, "
        f"at the 1 元 minimum {int((charged == rules.minimum_fen).sum()):,}; "
        f"outstanding {result.outstanding_fen.sum() / 100:,.2f} 元"
    )

    sample = min(args.sample, args.bills)
    by_bill: dict[int, list[tuple[int, int]]] = {}
    for b, d, fen in zip(
        payments.bill.tolist(),
        payments.day.astype(np.int64).tolist(),
        payments.amount_fen.tolist(),
        strict=True,
    ):
        if b < sample:
            by_bill.setdefault(b, []).append((d, fen))
    amount, due = bills["amount"].tolist(), bills["due"].astype(np.int64).tolist()
    year, residential = bills["year"].tolist(), bills["residential"].tolist()
    until = int(EVALUATION.astype(np.int64))
    wall, cpu = time.perf_counter(), time.process_time()
    expected = [
        reference(amount[i], due[i], year[i], residential[i], until, by_bill.get(i, []), rules)
        for i in range(sample)
    ]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if expected != charged[:sample].tolist():
        print("MISMATCH between the engine and the scalar reference")
        return 1
    scale = args.bills / sample
    print(
        f"scalar reference on {sample:,} bills: {wall:.3f} s wall, {cpu:.3f} s CPU, same fees; "
        f"extrapolated to {args.bills:,}: {wall * scale:.1f} s wall, {cpu * scale:.1f} s CPU → engine "
        f"{wall * scale / best_wall:.0f}× faster in wall time, {cpu * scale / best_cpu:.0f}× in CPU time "
        f"(best engine run {best_wall:.3f} s wall, {best_cpu:.3f} s CPU; target ≤ 5 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
