"""Dates for tests, read when a test runs — never when its module is collected: a run may cross midnight."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def today() -> dt.date:
    """Today in the project's time zone (Asia/Shanghai), as the actions read it."""
    return timezone.localdate()
