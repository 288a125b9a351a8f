"""The workbench's one registry: KPI values, approvals waiting for the person, and audit actions in words.

Each app contributes in its own ``workbench.py`` (found like ``menu.py`` through :mod:`gridcare.core.discovery`):

- ``KPIS``: :class:`KPI` entries — a catalogue KPI code (``KPIDefinition.code``, POSITIONS.md) with
  ``compute(user, unit, month) -> value | None`` (``unit=None``: the person's own figure; a unit: that unit's
  subtree, always inside the user's data scope) and ``link(user, unit, month) -> url`` to the records behind it.
  A catalogue KPI nobody registered yet shows :data:`PENDING_NOTE` (its data arrive with a later module).
- ``APPROVALS``: :class:`ApprovalSource` entries — ``fetch(user) -> list[Approval]`` of the things the person may
  decide now (service compensations; later rebills and write-offs).
- ``TODOS``: functions ``fetch(user) -> list[Todo]`` — the person's queue (orders assigned to me, near breach,
  overdue …).
- ``VERBS``: ``{audit action code: verb}`` — how :func:`describe_action` words an audit row
  ("受理工单 GD2026… 客户投诉" instead of ``service.create_order``).

The computations are aggregate queries over the user's data scope (:func:`gridcare.core.access.restrict`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import SCOPE_COMPANY, data_scope, restrict
from gridcare.core.discovery import app_modules
from gridcare.engine.calendar import SHANGHAI

Value = Decimal | int | None
M = TypeVar("M", bound=Model)

PENDING_NOTE = _("Computed once the module holding its data (readings, bills, payments …) is in gridcare.")

#: Which module brings the data of a catalogue KPI that nobody computes yet (its note names it); a KPI not listed
#: gets :data:`PENDING_NOTE`. The module that brings the data registers the KPI and its line here goes.
AWAITING: dict[str, Promise] = {
    "expansion_time_compliance": _("new connections"),
    **dict.fromkeys(("issues_found", "issues_closed", "recovered_revenue"), _("inspections")),
    "dispute_turnaround": _("metering disputes"),
    "peak_shaving": _("load management"),
}


def pending_note(code: str) -> str:
    """What a KPI without a computation says instead of a value ("待电费模块上线后计算")."""
    module = AWAITING.get(code)
    if module is None:
        return str(PENDING_NOTE)
    return str(_("Computed once the %(module)s module is in gridcare.") % {"module": module})


@dataclass(frozen=True)
class Month:
    """A calendar month in local time (Asia/Shanghai): ``[start, end)`` as aware datetimes and dates."""

    year: int
    number: int

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def key(self) -> str:
        return f"{self.year}-{self.number:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.number, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.number, 1, tzinfo=SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + (self.number == 12), self.number % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.number == 1), (self.number - 2) % 12 + 1)

    def range_q(self, field: str) -> Q:
        """``field`` (a datetime) within the month."""
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})

    def date_range_q(self, field: str) -> Q:
        """``field`` (a date) within the month."""
        return Q(**{f"{field}__gte": self.first_day, f"{field}__lte": self.last_day})


Compute = Callable[[Any, Any, Month], Value]
Link = Callable[[Any, Any, Month], str | None]


@dataclass(frozen=True)
class KPI:
    """How gridcare computes one catalogue KPI. ``per_person=False``: a unit figure only (the person's column
    shows "—", e.g. overdue meters belong to a station, not to one engineer)."""

    code: str
    compute: Compute
    link: Link | None = None
    per_person: bool = True


@dataclass(frozen=True)
class Approval:
    """One decision waiting for the person: what, about which record, since when, where to decide."""

    kind: str | Promise
    title: str
    url: str
    since: dt.datetime | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class Todo:
    """One line of "my queue": a count of records waiting for the person, the first few, and the full list."""

    code: str
    label: str | Promise
    count: int
    url: str
    tone: str = "secondary"  # Bootstrap colour of the badge: danger (overdue), warning (near breach) …
    items: tuple[tuple[str, str, dt.datetime | None], ...] = ()  # (text, url, deadline)


@dataclass(frozen=True)
class ApprovalSource:
    code: str
    fetch: Callable[[Any], list[Approval]]


def _contributions(name: str) -> list[Any]:
    found: list[Any] = []
    for _config, module in app_modules("workbench"):
        value = getattr(module, name, None)
        if value:
            found.append(value)
    return found


@cache
def kpi_registry() -> dict[str, KPI]:
    """Every registered KPI by catalogue code (one computation per code, whichever positions carry it)."""
    registry: dict[str, KPI] = {}
    for entries in _contributions("KPIS"):
        for kpi in entries:
            if kpi.code in registry:
                raise ValueError(f"KPI {kpi.code!r} is registered twice.")
            registry[kpi.code] = kpi
    return registry


@cache
def approval_sources() -> tuple[ApprovalSource, ...]:
    return tuple(source for entries in _contributions("APPROVALS") for source in entries)


@cache
def todo_sources() -> tuple[Callable[[Any], list[Todo]], ...]:
    return tuple(fetch for entries in _contributions("TODOS") for fetch in entries)


@cache
def action_verbs() -> dict[str, str | Promise]:
    verbs: dict[str, str | Promise] = {}
    for entries in _contributions("VERBS"):
        verbs.update(entries)
    return verbs


# ------------------------------------------------------------------------------------------------ values


@dataclass(frozen=True)
class KPIRow:
    """One KPI line of the workbench: this month and last month, for the person and for the unit."""

    definition: Any  # org.KPIDefinition
    computed: bool
    per_person: bool
    note: str = ""  # why there is no value yet (see :func:`pending_note`)
    mine_now: Value = None
    mine_before: Value = None
    unit_now: Value = None
    unit_before: Value = None
    link_now: str | None = None
    link_before: str | None = None

    def _text(self, value: Value) -> str:
        return format_value(value, self.definition.unit)

    @property
    def cells(self) -> list[tuple[str, str | None]]:
        """(text, link) for mine this month, mine last month, unit this month, unit last month."""
        mine = self.per_person
        return [
            (self._text(self.mine_now) if mine else "—", self.link_now if mine else None),
            (self._text(self.mine_before) if mine else "—", self.link_before if mine else None),
            (self._text(self.unit_now), self.link_now),
            (self._text(self.unit_before), self.link_before),
        ]


def format_value(value: Value, unit: str) -> str:
    """A KPI value for the screen: thousands separators and its unit ("96.5%", "1,234 户", "3.2 小时");
    "—" when there was nothing to measure."""
    if value is None:
        return "—"
    text = f"{value:,}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def kpi_unit(user: Any) -> Any:
    """The unit whose figures sit beside the person's: their own unit (and below); for a position that reads the
    whole company (managers, auditors) the company itself, since the department's business is all of it."""
    unit = user.org_unit
    if unit is None or data_scope(user) != SCOPE_COMPANY:
        return unit
    root_path = "/".join(unit.path.split("/")[:2]) + "/"  # "/GC/YX/" → "/GC/"
    return type(unit).objects.filter(path=root_path).first() or unit


def kpi_rows(user: Any, definitions: Any, today: dt.date | None = None) -> list[KPIRow]:
    """The values of a position's KPIs for ``user``: this month and last month, the person's and the unit's."""
    today = today or timezone.localdate()
    now, before = Month.of(today), Month.of(today).previous()
    unit = kpi_unit(user)
    rows = []
    for definition in definitions:
        kpi = kpi_registry().get(definition.code)
        if kpi is None:
            rows.append(
                KPIRow(definition, computed=False, per_person=False, note=pending_note(definition.code))
            )
            continue
        mine = kpi.per_person
        rows.append(
            KPIRow(
                definition,
                computed=True,
                per_person=mine,
                mine_now=kpi.compute(user, None, now) if mine else None,
                mine_before=kpi.compute(user, None, before) if mine else None,
                unit_now=kpi.compute(user, unit, now) if unit is not None else None,
                unit_before=kpi.compute(user, unit, before) if unit is not None else None,
                link_now=kpi.link(user, unit, now) if kpi.link else None,
                link_before=kpi.link(user, unit, before) if kpi.link else None,
            )
        )
    return rows


def todos_for(user: Any) -> list[Todo]:
    """The person's queue: every app's lists of records waiting for them."""
    return [todo for fetch in todo_sources() for todo in fetch(user)]


def approvals_for(user: Any) -> list[Approval]:
    """Everything waiting for the person's decision, oldest first."""
    items = [item for source in approval_sources() for item in source.fetch(user)]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(items, key=lambda item: item.since or epoch)


def describe_action(action: str, object_repr: str = "") -> str:
    """An audit row in words: the action's verb and the object ("受理工单 GD2026… 客户投诉")."""
    verb = action_verbs().get(action)
    words = str(verb) if verb is not None else str(_("Changed"))
    return f"{words} {object_repr}".strip()


# ------------------------------------------------------------------------------------------------ helpers


def ratio(part: int | Decimal | None, whole: int | Decimal | None) -> Decimal | None:
    """``part / whole`` in percent with one decimal; ``None`` when there is nothing to measure."""
    if not whole:
        return None
    return (Decimal((part or 0) * 100) / Decimal(whole)).quantize(Decimal("0.1"))


def mean(value: Any, places: str = "0.1") -> Decimal | None:
    return Decimal(str(value)).quantize(Decimal(places)) if value is not None else None


def hours(duration: dt.timedelta | None) -> Decimal | None:
    return mean(duration.total_seconds() / 3600) if duration is not None else None


def minutes(duration: dt.timedelta | None) -> Decimal | None:
    return mean(duration.total_seconds() / 60) if duration is not None else None


def scoped(queryset: QuerySet[M], user: Any, unit: Any, *, person: str | tuple[str, ...]) -> QuerySet[M]:
    """The rows a KPI counts: inside the user's data scope, then the unit's subtree (by the model's
    ``scope_unit_path``) or, without a unit, the person's own rows (any of the ``person`` fields is the user)."""
    queryset = restrict(queryset, user)
    if unit is not None:
        paths = queryset.model.scope_unit_path  # type: ignore[attr-defined]
        condition = Q()
        for path in (paths,) if isinstance(paths, str) else paths:
            condition |= Q(**{f"{path}__startswith": unit.path})
        return queryset.filter(condition)
    condition = Q()
    for field in (person,) if isinstance(person, str) else person:
        condition |= Q(**{field: user})
    return queryset.filter(condition)
