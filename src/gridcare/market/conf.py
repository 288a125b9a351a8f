"""Settings of market research, satisfaction surveys and the contractor register, overridable in Django settings
(``GRIDCARE_MARKET = {...}``) or by environment variables ``GRIDCARE_MARKET_<NAME>``."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # research attachments: the largest upload (bytes) and the file types accepted (extension → content type)
    "ATTACHMENT_MAX_BYTES": 20 * 1024 * 1024,
    "ATTACHMENT_TYPES": {
        "pdf": "application/pdf",
        "doc": "application/msword",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls": "application/vnd.ms-excel",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    # a survey's sample size when the survey does not give its own
    "SURVEY_SAMPLE_SIZE": 200,
    # customers sampled by another survey within this many days are not drawn again (免打扰)
    "SURVEY_EXCLUDE_DAYS": 90,
    # the largest sample one survey may draw
    "SURVEY_MAX_SAMPLE": 5000,
    # a qualification expiring within this many days is a to-do of the register's keepers (资质到期预警)
    "QUALIFICATION_WARNING_DAYS": 30,
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_MARKET", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_MARKET_{name}")
    default = DEFAULTS[name]
    if env is not None and not isinstance(default, dict):
        return type(default)(env)
    return default
