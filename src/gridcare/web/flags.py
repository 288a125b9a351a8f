"""Highlighted list cells: a status word with a colour (days overdue in red, time left of a work order), read the
same on the screen (a badge) and in the Excel export (the words)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Flag:
    """Words shown as a Bootstrap badge of ``tone`` (``danger``, ``warning``, ``success``, ``secondary``)."""

    text: str
    tone: str

    def __str__(self) -> str:
        return self.text


def duration_words(delta: dt.timedelta) -> str:
    """A duration as staff say it: ``2 天 3 小时``, ``5 小时 20 分``, ``40 分钟``."""
    minutes = max(int(abs(delta).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    hours += days * 24
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def days_overdue(due: dt.date | None, today: dt.date) -> Flag | None:
    """``超期 12 天`` in red for a date before ``today``; nothing for a date still ahead."""
    if due is None or due >= today:
        return None
    return Flag(_("%(days)d days overdue") % {"days": (today - due).days}, "danger")
