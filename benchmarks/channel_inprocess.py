"""Channel payment posts in-process: the WSGI application called directly (no HTTP server, no load generator), so the
figure is the Python + PostgreSQL cost of one post through the whole Django/DRF stack.

Runs on the data of ``channel_payments.py`` (run that first: it creates the accounts, the bank channel and its
token)::

    .venv/bin/python benchmarks/channel_inprocess.py --database gridcare_bench_channel --posts 300 [--profile]

Prints the process CPU and wall per post and the load average; ``--profile``: the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from typing import Any

from _http_load import django_setup, ensure_database


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridcare_bench_ledger")
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("GRIDCARE_CONN_MAX_AGE", "600")
    django_setup(ensure_database(args.database))
    from rest_framework.authtoken.models import Token

    from gridcare.wsgi import application

    token = Token.objects.get(user__username="bank").key
    run = f"{time.time():.0f}"

    def post(i: int) -> None:
        body = json.dumps(
            {"account": f"LB{i % 20000:08d}", "amount": "12.34", "transaction_id": f"P{run}-{i}"}
        ).encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/ledger/channel/payments/", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": f"Token {token}",
            "HTTP_IDEMPOTENCY_KEY": f"k{run}-{i}", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1",
        }  # fmt: skip
        status: list[str] = []
        b"".join(application(environ, lambda s, h, e=None: status.append(s)))
        assert status[0].startswith("201"), status

    for i in range(30):  # warm: imports, connection, prepared statements
        post(i)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for i in range(30, 30 + args.posts):
        post(i)
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{args.posts} channel posts in-process: {1000 * cpu / args.posts:.2f} ms CPU and "
        f"{1000 * wall / args.posts:.2f} ms wall per post; load {os.popen('uptime').read().strip()}"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
