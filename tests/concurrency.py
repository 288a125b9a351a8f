"""Run callables "at the same time" against the test database, on either backend.

PostgreSQL: each callable runs in its own thread with its own database connection, released together by a
barrier, so they really overlap (the test must use ``django_db(transaction=True)`` so the threads see
committed data). SQLite serialises writers on one file lock and its shared in-memory test database refuses
concurrent writers outright, so there the callables run one after the other — what a database lock would
make of them — and the test still checks the outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, connections


def truly_concurrent() -> bool:
    return connection.vendor == "postgresql"


def run_together(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """The results of ``calls`` (an exception raised by one is returned in its place)."""
    if not truly_concurrent():
        results: list[Any] = []
        for call in calls:
            try:
                results.append(call())
            except Exception as error:  # noqa: BLE001 - returned for the test to inspect
                results.append(error)
        return results
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            out[index] = call()
        except Exception as error:  # noqa: BLE001 - returned for the test to inspect
            out[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return out
