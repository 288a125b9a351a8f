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
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_KEYACCOUNTS", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_KEYACCOUNTS_{name}")
    default = DEFAULTS[name]
    if env is not None and not isinstance(default, dict):
        return type(default)(env)
    return default


def visits_per_year(grade: str) -> int:
    return int(conf("VISITS_PER_YEAR").get(grade, 0))
