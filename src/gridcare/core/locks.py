"""One lock per periodic job, so a job started twice at once (two beat ticks, a beat tick and an operator, two
workers) runs once: ``with job_lock("service.sla_sweep"): …``.

PostgreSQL: an advisory lock on a 64-bit key derived from the job name — ``pg_try_advisory_xact_lock`` inside a
transaction (released by its commit or rollback, so the next run sees everything this one wrote), otherwise
``pg_try_advisory_lock`` released on leaving the block. It works across processes and machines sharing the
database. SQLite (one machine, one file): an exclusive ``flock`` on a lock file named after the database and the
job, held for the block. Either way the lock is *tried*, never waited for: a second run raises
:class:`JobBusy` at once and the caller skips this tick.

The lock keeps honest runs apart; the data stay right without it too — what a job must do once is also
claimed in the database (a conditional update, a unique constraint): see :mod:`gridcare.service.sla`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from gridcare.core.errors import Conflict


class JobBusy(Conflict):
    """Another run of the same job holds its lock."""

    code = "job_busy"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"任务「{name}」正在运行，本次跳过。 (Job '{name}' is already running; this run is skipped.)"
        )
        self.name = name


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name (the same in every process)."""
    return int.from_bytes(hashlib.sha256(f"gridcare.job:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(name: str) -> Iterator[None]:
    """Hold the job's lock for the block, or raise :class:`JobBusy` if another run holds it."""
    if connection.vendor == "postgresql":
        with _advisory_lock(name):
            yield
        return
    with _file_lock(name):
        yield


@contextmanager
def _advisory_lock(name: str) -> Iterator[None]:
    key = lock_key(name)
    in_transaction = connection.in_atomic_block
    function = "pg_try_advisory_xact_lock" if in_transaction else "pg_try_advisory_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [key])
        if not cursor.fetchone()[0]:
            raise JobBusy(name)
    try:
        yield
    finally:
        if not in_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _lock_path(name: str) -> Path:
    database = str(connection.settings_dict.get("NAME") or "default")
    tag = hashlib.sha256(os.path.abspath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"gridcare-{tag}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock"


@contextmanager
def _file_lock(name: str) -> Iterator[None]:
    import fcntl

    with open(_lock_path(name), "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobBusy(name) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
