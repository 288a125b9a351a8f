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
    # a Celery run in which no chunk finished for this many seconds sends its waiting chunks again (a worker killed
    # with its task, a lost message); a chunk delivered twice is rated once
    "STALL_SECONDS": 60.0,
    # the page of a running run reloads itself every this many seconds (its progress)
    "PAGE_REFRESH_SECONDS": 3,
    # a chunk that failed this many times stays failed until the run is resumed
    "MAX_ATTEMPTS": 3,
    # days from release to the due date, per customer class (电费发行: 居民 15 days, the others 10)
    "DUE_DAYS": {"residential": 15, "default": 10},
    # bill numbers (电费发行): prefix + period (YYYYMM) + this many digits
    "NUMBER_PREFIX": "DF",
    "NUMBER_WIDTH": 8,
    # 电费按时发行: a bill is released on time within this many days after its period's end (the reading day)
    "RELEASE_DAYS": 5,
    # 最大需量 from the interval store bills only when at least this share (%) of the bill period's 15-minute
    # intervals was received; below it the account is not billed (a demand from a few days would be too low)
    "DEMAND_MIN_COVERAGE_PCT": 90,
    # bills released per statement of a bulk release
    "RELEASE_BATCH": 2000,
    # 退补 (cancel/rebill), RULES.md §1 — the defaults of the 供电营业规则
    # meter error: back-billed for this share of the time from the last verification to the correction (一半)
    "METER_ERROR_SHARE": "0.5",
    # the largest meter error (%) a rebill takes: beyond it the meter is not in error but broken (estimate instead)
    "METER_ERROR_MAX_PCT": 50,
    # violation, tariff-class misuse (高价低接): the price difference back-billed + this multiple as penalty …
    "VIOLATION_TARIFF_PENALTY": "2",
    # … over this many months (the account's last released bills) when the period cannot be established
    "VIOLATION_UNKNOWN_MONTHS": 3,
    # violation, capacity overrun (私增容量): two-part customers pay the basic charge on the excess + this multiple
    "OVERRUN_PENALTY": "3",
    # … the others this many 元 per kW (kVA) of the excess, once per case
    "OVERRUN_YUAN_PER_KW": "50",
    # theft (窃电): the stolen energy back-billed + this multiple as penalty
    "THEFT_PENALTY": "3",
    # theft with the period unknown: at least this many days …
    "THEFT_DAYS": 180,
    # … at these hours a day of the rated capacity, by customer class (照明用户 6 h, 电力用户 12 h)
    "THEFT_HOURS": {"residential": 6, "default": 12},
    # whether the penalty multiple applies to the government funds back-billed too (default: charges only)
    "PENALTY_ON_FUNDS": False,
    # rebill case numbers (退补申请): prefix + YYYYMM of the day proposed + this many digits
    "REBILL_NUMBER_PREFIX": "TB",
    "REBILL_NUMBER_WIDTH": 5,
    # 电费通知单: the balance due is the bill's total plus what each of these functions adds (dotted paths of
    # ``f(bill) -> Decimal``; the ledger adds arrears and late fees here)
    "BALANCE_PARTS": ["gridcare.ledger.selectors.balance_besides"],
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_BILLING", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_BILLING_{name}")
    default = DEFAULTS[name]
    if env is not None:
        if isinstance(default, bool):
            return env.strip().lower() in ("1", "true", "yes")
        return json.loads(env) if isinstance(default, (dict, list)) else type(default)(env)
    return default
