"""The interval data store (负荷曲线数据) of the application: where it lives and the numbers its checks use.

The store itself is :class:`gridcare.engine.interval_store.IntervalStore` (hive-partitioned Parquet,
``month=YYYY-MM/bucket=NN``); this module is the one place that opens it. Its root is the Django setting
``GRIDCARE_INTERVAL_STORE`` (environment variable of the same name; default ``<var>/intervals``).

The numbers are settings (``GRIDCARE_INTERVALS = {...}`` in Django settings or ``GRIDCARE_INTERVALS_<NAME>`` in
the environment), never literals in the code that uses them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from gridcare.core.locks import JobBusy, job_lock
from gridcare.engine.interval_store import DEFAULT_BUCKETS, IntervalStore

STORE_LOCK = "readings.interval_store"
_RETRY_SECONDS = 0.1

DEFAULTS: dict[str, Any] = {
    # account buckets of the dataset (a partition is one month of one bucket); fixed once data is stored
    "BUCKETS": DEFAULT_BUCKETS,
    # a read above SPIKE_FACTOR × the meter's SPIKE_PERCENTILE percentile in the batch is a spike (尖峰异常) …
    "SPIKE_FACTOR": 3,
    "SPIKE_PERCENTILE": 95,
    # … unless it is below this many kWh (nearly idle meters would flag every read)
    "SPIKE_FLOOR_KWH": 1,
    # a unit-day below this collection rate (%) is failing: a to-do for the load manager, red on the screen
    "TARGET_RATE_PERCENT": 98,
    # the load manager's screen and to-do look back this many days by default
    "LOOKBACK_DAYS": 14,
    # reads per API request (one audited batch)
    "MAX_API_READS": 50_000,
    # reads per audited batch of a file ingest (a meter's reads stay in one batch)
    "FILE_BATCH_READS": 2_000_000,
    # a batch waits at most this long (seconds) for another batch's write to the store to finish
    "LOCK_WAIT_SECONDS": 30,
    # an interval-based estimate needs at least this share (%) of the period's intervals
    "ESTIMATE_MIN_COVERAGE_PERCENT": 95,
}


def interval_conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_INTERVALS", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_INTERVALS_{name}")
    default = DEFAULTS[name]
    return type(default)(env) if env is not None else default


def store_root() -> Path:
    return Path(settings.GRIDCARE_INTERVAL_STORE)


def interval_store() -> IntervalStore:
    """The application's interval store (created on first write)."""
    return IntervalStore(store_root(), buckets=int(interval_conf("BUCKETS")))


@contextmanager
def store_writer() -> Iterator[IntervalStore]:
    """The store, for one writer at a time across processes (core.locks.job_lock): the duplicate check against
    stored reads and the append must not interleave with another batch's, or both could write the same read.
    Waits up to ``LOCK_WAIT_SECONDS`` for the other batch, then answers :class:`JobBusy` (409, retry)."""
    deadline = time.monotonic() + float(interval_conf("LOCK_WAIT_SECONDS"))
    with ExitStack() as stack:
        while True:
            try:
                stack.enter_context(job_lock(STORE_LOCK))
                break
            except JobBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(_RETRY_SECONDS)
        yield interval_store()
