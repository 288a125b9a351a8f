"""The dunning ladder (``gridcare.engine.dunning.next_steps``) over a million accounts in arrears.

Generates N accounts (default 1,000,000): 60 % residential, 2 % important, 3 % with a payment plan, overdue
−10 … 120 days, each at a random step of the ladder done up to 40 days ago, 5 % of the disconnected ones paid up.
Times the engine (class names to rule codes, then the ladder) at a fixed moment (wall and CPU time, load average) and prints how many accounts have each step
due now.

    .venv/bin/python benchmarks/dunning_ladder.py
    .venv/bin/python benchmarks/dunning_ladder.py --accounts 200000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gridcare.engine import dunning  # noqa: E402
from gridcare.engine.calendar import SHANGHAI, BusinessCalendar  # noqa: E402
from gridcare.engine.sla import epoch_seconds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.accounts
    rng = np.random.default_rng(2026)
    now = epoch_seconds(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))  # a Tuesday, working hours
    ladder = dunning.DunningLadder()
    classes = np.where(rng.random(n) < 0.6, "residential", "commercial")
    overdue = rng.integers(-10, 120, n)
    last = rng.integers(dunning.NONE, dunning.RECONNECT + 1, n)
    last_at = np.where(last == dunning.NONE, -1, now - rng.integers(0, 40 * 86_400, n))
    arrears = np.where((last == dunning.DISCONNECT) & (rng.random(n) < 0.05), 0, rng.integers(1, 10**7, n))
    important = rng.random(n) < 0.02
    plan = rng.random(n) < 0.03
    settled = np.where(arrears == 0, now - rng.integers(0, 86_400, n), -1)
    calendar = BusinessCalendar()
    for _ in range(args.repeat):
        load = os.getloadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        codes = ladder.codes(classes)
        result = dunning.next_steps(
            now, codes, overdue, arrears, last, last_at, important, plan, settled, calendar, ladder
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"dunning ladder over {n:,} accounts: {wall:.3f} s wall, {cpu:.3f} s CPU "
            f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
        )
    due = result.step[result.due_now]
    print(
        "  due now: "
        + ", ".join(
            f"{dunning.STEP_NAMES[step]} {int((due == step).sum()):,}"
            for step in (
                dunning.REMINDER,
                dunning.APPROVAL,
                dunning.NOTICE,
                dunning.DISCONNECT,
                dunning.RECONNECT,
            )
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
