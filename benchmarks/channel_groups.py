"""The channel API's group commit in one process: what a group of posts costs per post, taken set-based and one by
one, by group size — the figures behind ``CHANNEL_GROUP_MIN`` (docs/ledger.md, "Channel API").

Runs on the data of ``channel_payments.py`` (run that first: the accounts, the bank channel and its token)::

    .venv/bin/python benchmarks/channel_groups.py [--database gridcare_bench_ledger] [--sizes 1 8 16 32 64]

Each group is served as the API serves it (``ledger.api._serve_posts``: keys claimed, posts taken, answers stored in
one transaction); prints the CPU of this process and the wall time per post for each size and way.
"""

from __future__ import annotations

import argparse
import os
import time
from decimal import Decimal
from typing import Any

from _http_load import django_setup, ensure_database


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridcare_bench_ledger")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=40, help="groups per size and way")
    args = parser.parse_args()
    os.environ.setdefault("GRIDCARE_CONN_MAX_AGE", "600")
    django_setup(ensure_database(args.database))
    from django.test.utils import override_settings

    from gridcare.api.base import KeyedWrite
    from gridcare.ledger import actions, selectors
    from gridcare.ledger import api as channel_api
    from gridcare.org.models import User

    user = User.objects.select_related("position", "org_unit").get(username="bank")
    channel = selectors.channel_of_caller(user)
    assert channel is not None, "run benchmarks/channel_payments.py first (the bank channel)"
    run = f"{time.time():.0f}"

    def group(tag: str, size: int, r: int) -> list[Any]:
        return [
            channel_api._GroupedPost(
                user,
                channel,
                KeyedWrite(f"{tag}{run}-{size}-{r}-{i}", "POST", "/api/ledger/channel/payments/", f"f{r}-{i}"),
                actions.ChannelPost(f"LB{(r * size + i) % 20000:08d}", Decimal("12.34"), f"{tag}{run}-{size}-{r}-{i}"),
            )
            for i in range(size)
        ]  # fmt: skip

    for size in args.sizes:
        for way, group_min in (("set-based", 1), ("one by one", 10**9)):
            tag = "S" if group_min == 1 else "O"
            with override_settings(GRIDCARE_LEDGER={"CHANNEL_GROUP_MIN": group_min}):
                for r in range(3):  # warm: prepared statements, caches
                    channel_api._serve_posts(group(f"w{tag}", size, r))
                cpu, wall = time.process_time(), time.perf_counter()
                for r in range(args.rounds):
                    answers = channel_api._serve_posts(group(tag, size, r))
                    assert all(getattr(a, "status_code", 0) == 201 for a in answers), answers[:3]
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            posts = size * args.rounds
            print(
                f"group of {size:3d}, {way:10s}: {1000 * cpu / posts:.2f} ms CPU and {1000 * wall / posts:.2f} ms "
                f"wall per post ({1000 * cpu / args.rounds:.1f} ms CPU per group)"
            )
    print(f"load: {os.popen('uptime').read().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
