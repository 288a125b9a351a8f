"""The business clock of a replay: run real actions "as of" a past moment (the demo replays a year of collection).

Every action takes its time from Django's clock — ``timezone.now()``, ``timezone.localdate()``/``localtime()``, the
model defaults ``default=timezone.now`` and ``auto_now`` fields — and all of these end in one call,
``datetime.now(tz=…)`` inside :mod:`django.utils.timezone`. :func:`as_of` replaces the name ``datetime`` of that
module, for the enclosed block only, by a class whose ``now`` answers the replayed moment plus the real time spent
since entering the block (so the records made in the block keep their order). Nothing else is patched: the
database's own ``now()`` (no model of gridcare uses a database default), ``time.time()`` and direct
``datetime.now()`` calls keep the real time — gridcare's actions do not use those.

Not for production code paths: the demo command only. Single-threaded (the module global is shared by threads)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone as django_timezone

_REAL = dt.datetime


class _SameClass(type):
    """``isinstance(value, datetime)`` in django.utils.timezone stays true of every real datetime."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, _REAL)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _REAL)


def _replayed(moment: dt.datetime) -> type:
    started = time.monotonic()

    class Replayed(_REAL, metaclass=_SameClass):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            value = moment + dt.timedelta(seconds=time.monotonic() - started)
            if tz is None:
                return value.astimezone().replace(tzinfo=None)
            return value.astimezone(tz)

    return Replayed


@contextmanager
def as_of(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block, Django's clock starts at ``moment`` (aware) and runs on; blocks nest."""
    if django_timezone.is_naive(moment):
        raise ValueError("as_of() needs an aware moment")
    previous = django_timezone.datetime  # type: ignore[attr-defined]
    django_timezone.datetime = _replayed(moment)  # type: ignore[attr-defined,assignment]
    try:
        yield moment
    finally:
        django_timezone.datetime = previous  # type: ignore[attr-defined]


def at_local(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """``day`` at ``hour:minute`` in the current time zone (aware)."""
    return django_timezone.make_aware(_REAL.combine(day, dt.time(hour, minute)))


def real_now() -> dt.datetime:
    """The wall-clock time, also inside :func:`as_of` (aware, UTC)."""
    return _REAL.now(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """The local date of ``moment``."""
    return django_timezone.localdate(moment)
