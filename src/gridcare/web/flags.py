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


def days_left(due: dt.date | None, today: dt.date, *, soon: int = 30) -> Flag | None:
    """``12 天后到期`` (amber within ``soon`` days, 今天到期 on the day); an overdue date reads like
    :func:`days_overdue`."""
    if due is None:
        return None
    if due < today:
        return days_overdue(due, today)
    if due == today:
        return Flag(_("Due today"), "warning")
    days = (due - today).days
    return Flag(_("Due in %(days)d days") % {"days": days}, "warning" if days <= soon else "secondary")


def days_overdue(due: dt.date | None, today: dt.date) -> Flag | None:
    """``超期 12 天`` in red for a date before ``today``; nothing for a date still ahead."""
    if due is None or due >= today:
        return None
    return Flag(_("%(days)d days overdue") % {"days": (today - due).days}, "danger")
