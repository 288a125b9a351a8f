"""Settings of the service desk, overridable in Django settings (``GRIDCARE_SERVICE = {...}``) or by environment
variables ``GRIDCARE_SERVICE_<NAME>``; business numbers (SLA targets, dispatch) are data, not settings."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.conf import settings

from gridcare.engine.sla import WorkingHours

DEFAULTS: dict[str, Any] = {
    # working hours in which working-day SLA notices may be sent (Asia/Shanghai wall clock)
    "DAY_START": "08:30",
    "DAY_END": "17:30",
    # repeated repair calls about one area within this window link to one master order (重复来电并单)
    "DUPLICATE_WINDOW_MINUTES": 120,
    # a callback satisfaction at or below this is "unsatisfied" → reopen or escalate
    "UNSATISFIED_AT_MOST": 2,
    # how long the SLA policy and dispatch-rule caches live in each process (seconds)
    "RULE_CACHE_SECONDS": 60,
    # the SLA sweep's Celery beat interval (minutes)
    "SWEEP_EVERY_MINUTES": 5,
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_SERVICE", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_SERVICE_{name}")
    default = DEFAULTS[name]
    if env is not None:
        return type(default)(env)
    return default


def working_hours() -> WorkingHours:
    return WorkingHours(dt.time.fromisoformat(conf("DAY_START")), dt.time.fromisoformat(conf("DAY_END")))
