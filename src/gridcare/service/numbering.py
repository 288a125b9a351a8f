"""Work-order numbers (工单编号) ``GD`` + local date + a per-day counter: ``GD202611220001``.

The counter comes from one database sequence (PostgreSQL ``nextval``, which never blocks concurrent intakes and
is not rolled back) minus a base fixed once per day: number(D) = value − base(D). Numbers are unique and
increase through the day; a rolled-back intake leaves a gap, which is harmless for work orders. Other databases
use a counter row (SQLite serialises writers anyway): :class:`gridcare.core.numbering.Counter`. The counter grows
past four digits when a day needs it.
"""

from __future__ import annotations

import datetime as dt
import threading

from django.db import transaction
from django.utils import timezone

from gridcare.core.numbering import Counter
from gridcare.service.models import NumberDay

SEQUENCE = "service_workorder_number_seq"
PREFIX = "GD"

_bases: dict[dt.date, int] = {}
_lock = threading.Lock()


COUNTER = Counter("workorder", SEQUENCE)


def _nextval() -> int:
    return COUNTER.next()


def _remember(day: dt.date, base: int) -> None:
    with _lock:
        _bases[day] = base


def _day_base(day: dt.date, value: int) -> int:
    """The day's base, created with ``value - 1`` by the first intake of the day (cached once committed)."""
    cached = _bases.get(day)
    if cached is not None and cached < value:
        return cached
    NumberDay.objects.bulk_create([NumberDay(day=day, base=value - 1)], ignore_conflicts=True)
    base = int(NumberDay.objects.filter(day=day).values_list("base", flat=True)[0])
    transaction.on_commit(lambda: _remember(day, base))
    return base


def local_day(at: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(at or timezone.now())


def prefix(day: dt.date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def cached_base(day: dt.date) -> int | None:
    """Today's committed base if this process knows it: every value the sequence gives from now on is above
    it, so the number can be computed inside the INSERT (see :mod:`gridcare.service.persist`)."""
    return _bases.get(day)


def next_number(at: dt.datetime | None = None) -> str:
    """A new unique work-order number for the local day of ``at`` (default now)."""
    day = local_day(at)
    value = _nextval()
    base = _day_base(day, value)
    for _attempt in range(1000):
        if value > base:
            return f"{prefix(day)}{value - base:04d}"
        value = _nextval()  # a value drawn before another process fixed today's base
    raise RuntimeError("work-order number sequence is behind the day base; check the sequence")


def forget_bases() -> None:
    with _lock:
        _bases.clear()
