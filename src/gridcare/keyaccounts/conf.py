"""Settings of key accounts and market development, overridable in Django settings (``GRIDCARE_KEYACCOUNTS =
{...}``) or by environment variables ``GRIDCARE_KEYACCOUNTS_<NAME>``; the key-account rules themselves are data
(:class:`~gridcare.keyaccounts.models.KeyAccountRule`)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # visits a year per importance grade (大客户回访频次): grade 1 monthly, grade 2 every two months …
    "VISITS_PER_YEAR": {"first": 12, "second": 6, "temporary": 4, "general": 2},
    # a name at least this similar (rapidfuzz ratio, 0–100, after normalisation) to a held prospect collides
    "SIMILAR_NAME_THRESHOLD": 85.0,
    # a registration without activity (a stage change, an update, a visit) for this many days expires
    "REGISTRATION_IDLE_DAYS": 90,
    # new names searched by a plain scan before the in-process name index is rebuilt
    "INDEX_TAIL_LIMIT": 5000,
    # the expiry job's Celery beat hour (daily, Asia/Shanghai)
    "EXPIRE_AT_HOUR": 2,
    # a planned visit is "near" (on the to-do list ahead of time) this many days before its date
    "VISIT_NEAR_DAYS": 7,
    # credit scores (信用评价): the feature sources (dotted paths of ``function(account_ids, period) -> {name:
    # array}``); the dunning module wires its disconnection and payment-plan sources here
    "CREDIT_FEATURE_SOURCES": [
        "gridcare.keyaccounts.credit.ledger_features",
        "gridcare.keyaccounts.credit.violation_features",
        "gridcare.keyaccounts.credit.disconnection_features",
        "gridcare.keyaccounts.credit.payment_plan_features",
    ],
    # connections the ledger's three scans run on at once (a helper connection in a thread while the run has
    # written nothing: PostgreSQL formats one scan while this process parses another); 1 = one after the other
    "CREDIT_LOAD_CONNECTIONS": 2,
    # the months of history a score reads (payment punctuality, overdue days, violations …)
    "CREDIT_WINDOW_MONTHS": 12,
    # the monthly run's Celery beat day of the month and hour (Asia/Shanghai): scores the month before
    "CREDIT_RUN_DAY": 1,
    "CREDIT_RUN_HOUR": 3,
    # months of scores in the 360 view's history chart
    "CREDIT_HISTORY_MONTHS": 12,
    # rows per INSERT batch where COPY is not available (SQLite)
    "CREDIT_INSERT_BATCH": 5000,
    # 坏账率: arrears more than this many days overdue count as bad debt (with what was written off)
    "BAD_DEBT_DAYS": 365,
    # a sales expense's budget year must be the year of its date; budgets are set for at most this many years ahead
    "BUDGET_YEARS_AHEAD": 1,
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_KEYACCOUNTS", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_KEYACCOUNTS_{name}")
    default = DEFAULTS[name]
    if env is not None and not isinstance(default, dict | list):
        return type(default)(env)
    return default


def visits_per_year(grade: str) -> int:
    return int(conf("VISITS_PER_YEAR").get(grade, 0))
