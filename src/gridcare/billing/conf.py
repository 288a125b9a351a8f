"""Settings of the billing run, overridable in Django settings (``GRIDCARE_BILLING = {...}``) or by environment
variables ``GRIDCARE_BILLING_<NAME>`` (the pattern of :mod:`gridcare.service.conf`)."""

from __future__ import annotations

import json
import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # accounts per chunk (an account-id range loaded with a few queries, rated and written in one transaction)
    "CHUNK_SIZE": 5000,
    # worker processes of the process-pool executor, and the most a run may ask for
    "WORKERS": 2,
    "MAX_WORKERS": 8,
    # the tier year (阶梯年度) starts on the first day of this month
    "TIER_YEAR_START_MONTH": 1,
    # reading day of accounts that are on no route: the bill period is the calendar month
    "DEFAULT_READING_DAY": 1,
    # seconds between two progress looks while a Celery run is waiting for its chunks
    "POLL_SECONDS": 0.5,
    # a chunk that failed this many times stays failed until the run is resumed
    "MAX_ATTEMPTS": 3,
    # days from release to the due date, per customer class (电费发行: 居民 15 days, the others 10)
    "DUE_DAYS": {"residential": 15, "default": 10},
    # bill numbers (电费发行): prefix + period (YYYYMM) + this many digits
    "NUMBER_PREFIX": "DF",
    "NUMBER_WIDTH": 8,
    # 电费按时发行: a bill is released on time within this many days after its period's end (the reading day)
    "RELEASE_DAYS": 5,
    # bills released per statement of a bulk release
    "RELEASE_BATCH": 2000,
    # 电费通知单: the balance due is the bill's total plus what each of these functions adds (dotted paths of
    # ``f(bill) -> Decimal``; the ledger adds arrears and late fees here)
    "BALANCE_PARTS": [],
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_BILLING", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_BILLING_{name}")
    default = DEFAULTS[name]
    if env is not None:
        return json.loads(env) if isinstance(default, (dict, list)) else type(default)(env)
    return default
