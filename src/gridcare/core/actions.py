"""The action layer: every write is a ``do_…`` function wrapped by :func:`action`.

The wrapper checks the permission, runs the function in one transaction, and insists that it wrote at least one
audit row in that transaction — so a rolled-back action leaves no audit row and no write goes unaudited.
Side effects are scheduled with :func:`after_commit`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.db import transaction

from gridcare.core import audit
from gridcare.core.access import require_perm
from gridcare.core.audit import _rows_written
from gridcare.core.calendar import forget_calendar
from gridcare.core.errors import InvalidInput
from gridcare.core.models import CalendarOverride

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ActionSpec:
    code: str
    permission: str | None
    function: Callable[..., Any]


REGISTRY: dict[str, ActionSpec] = {}


class UnauditedActionError(RuntimeError):
    """An action finished without writing an audit row: a programming error, rolled back."""


# Set inside :func:`whole_transaction`: the next action needs no savepoint of its own.
_savepoint_free: ContextVar[bool] = ContextVar("gridcare_savepoint_free", default=False)


@contextmanager
def whole_transaction() -> Iterator[None]:
    """One transaction around an action and what its caller writes with it (an API write and its idempotency
    record). Any error rolls all of it back, so the outermost action inside skips its savepoint — two round
    trips to the database fewer on every such write. Actions it calls keep theirs."""
    with transaction.atomic():
        token = _savepoint_free.set(True)
        try:
            yield
        finally:
            _savepoint_free.reset(token)


def action(code: str, *, permission: str | None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare ``fn(actor, …)`` as the audited action ``code`` guarded by ``permission``."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            actor = args[0] if args else kwargs.get("actor")
            if permission is not None:
                require_perm(actor, permission)
            counter = _rows_written.get()
            token = None
            if counter is None:
                counter = [0]
                token = _rows_written.set(counter)
            start = counter[0]
            savepoint = not _savepoint_free.get()
            _savepoint_free.set(False)
            try:
                with transaction.atomic(savepoint=savepoint):
                    result = fn(*args, **kwargs)
                    if counter[0] == start:
                        raise UnauditedActionError(f"Action '{code}' wrote no audit row.")
            finally:
                if token is not None:
                    _rows_written.reset(token)
            return result

        run.__dict__.update(action_code=code, permission=permission)  # read by the registry's users
        REGISTRY[code] = ActionSpec(code, permission, run)
        return run

    return decorate


def after_commit(callback: Callable[[], Any]) -> None:
    """Run a side effect (notification, task) only once the surrounding transaction has committed."""
    transaction.on_commit(callback)


@action("core.set_calendar_override", permission="calendar.manage")
def do_set_calendar_override(
    actor: Any, *, day: dt.date, is_working_day: bool, reason: str
) -> CalendarOverride:
    """Declare a date a working day or a day off (local holiday, or a later year's official schedule)."""
    if not reason.strip():
        raise InvalidInput({"reason": "请填写原因。 (A reason is required.)"})
    existing = CalendarOverride.objects.select_for_update().filter(day=day).first()
    before = audit.snapshot(existing, ["day", "is_working_day", "reason"]) if existing else None
    override, _ = CalendarOverride.objects.update_or_create(
        day=day, defaults={"is_working_day": is_working_day, "reason": reason.strip()}
    )
    audit.record(
        actor,
        "core.set_calendar_override",
        override,
        before=before,
        after=audit.snapshot(override, ["day", "is_working_day", "reason"]),
    )
    after_commit(forget_calendar)
    return override


@action("core.delete_calendar_override", permission="calendar.manage")
def do_delete_calendar_override(actor: Any, override: CalendarOverride) -> None:
    before = audit.snapshot(override, ["day", "is_working_day", "reason"])
    audit.record(actor, "core.delete_calendar_override", override, before=before)
    override.delete()
    after_commit(forget_calendar)
