"""Reads of the readings app that need care — above all what billing may use (计费电量)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from gridcare.core.access import restrict
from gridcare.readings.bulk import among
from gridcare.readings.models import MeterRead, ReadException, ReadingTask, Route
from gridcare.readings.periods import parse_period


@dataclass
class RegisterQuantity:
    """Validated consumption of one register of an account in a period, with where it came from."""

    register: str
    quantity: Decimal
    reads: list[int] = field(default_factory=list)
    estimated: bool = False


@dataclass
class Determinants:
    """计费电量 of one account and period: per register, and the service points it was metered at."""

    account: int
    period: str
    registers: dict[str, RegisterQuantity]
    service_points: list[int]


def billing_determinants(
    user: Any, *, period: str, accounts: Iterable[int] | None = None
) -> list[Determinants]:
    """Per account, validated quantities per register for ``period`` with their provenance (read ids, estimated).

    Nothing unvalidated reaches billing: a register of an account is left out entirely while any of its reads
    in the period is held by an exception, is an estimate awaiting approval, or has an open blocking exception
    — billing then reports the account as not ready rather than bill part of its consumption. A negative
    quantity is never returned: a read whose consumption is negative withholds its register the same way
    (accepting a reverse-running read makes it a zero-consumption baseline, see ``do_accept_exception``).
    """
    parse_period(period)
    reads = restrict(MeterRead.objects.filter(period=period), user)
    if accounts is not None:
        reads = reads.filter(service_point__account_id__in=list(accounts))
    return list(determinants_of(reads, period).found.values())


@dataclass
class DeterminantSet:
    """The determinants of many accounts and, per account, the registers withheld (held or blocked reads)."""

    found: dict[int, Determinants]
    withheld: dict[int, set[str]]


def determinants_in_range(
    user: Any, *, period: str, first: int, last: int, points: Sequence[int] | None = None
) -> DeterminantSet:
    """:func:`billing_determinants` for the accounts with ids ``first``–``last`` (a billing run's chunk): two
    queries whatever the number of accounts, and the withheld registers so billing can say why. ``points``, the
    accounts' service points when the caller has them, lets the reads be found on the service-point index."""
    parse_period(period)
    reads = restrict(MeterRead.objects.filter(period=period), user).filter(
        service_point__account_id__gte=first, service_point__account_id__lte=last
    )
    if points is not None:
        reads = reads.filter(among(MeterRead, "service_point_id", points))
    return determinants_of(reads.order_by(), period, first=first, last=last)


def determinants_of(
    reads: QuerySet[MeterRead], period: str, *, first: int | None = None, last: int | None = None
) -> DeterminantSet:
    """The set-based core of the two above: one query for the reads, one for the blocking exceptions."""
    rows = reads.exclude(status=MeterRead.Status.SUPERSEDED).values_list(
        "pk", "service_point__account_id", "service_point_id", "register", "status", "quantity", "source"
    )
    exceptions = ReadException.objects.filter(
        period=period, status=ReadException.Status.OPEN, severity=ReadException.Severity.BLOCK
    )
    if first is not None and last is not None:
        exceptions = exceptions.filter(
            service_point__account_id__gte=first, service_point__account_id__lte=last
        )
    blocked_reads = set(exceptions.values_list("read_id", flat=True))
    withheld: dict[int, set[str]] = defaultdict(set)
    lines: dict[tuple[int, str], RegisterQuantity] = {}
    points: dict[int, set[int]] = defaultdict(set)
    for pk, account, point, register, status, quantity, source in rows:
        if status != MeterRead.Status.VALID or pk in blocked_reads or (quantity is not None and quantity < 0):
            # a negative consumption is a metering fault (倒走), never a credit: the register waits for a decision
            withheld[account].add(register)
            continue
        if quantity is None:
            continue
        line = lines.setdefault((account, register), RegisterQuantity(register, Decimal(0)))
        line.quantity += quantity
        line.reads.append(pk)
        line.estimated = line.estimated or source == MeterRead.Source.ESTIMATE
        points[account].add(point)
    result: dict[int, Determinants] = {}
    for (account, register), line in sorted(lines.items()):
        if register in withheld.get(account, ()):
            continue
        entry = result.setdefault(account, Determinants(account, period, {}, []))
        entry.registers[register] = line
        line.reads.sort()
        entry.service_points = sorted(points[account])
    return DeterminantSet(result, dict(withheld))


def reader_tasks(user: Any, *, period: str, route: Route | None = None) -> QuerySet[ReadingTask]:
    """The tasks of a period in walking order, as far as the user's scope reaches (a reader: own routes)."""
    tasks = restrict(ReadingTask.objects.filter(period=period), user).select_related(
        "meter", "service_point", "route"
    )
    if route is not None:
        tasks = tasks.filter(route=route)
    return tasks.order_by("route__number", "sequence", "meter__asset_no", "register")


#: tasks still waiting for a reader
OPEN_TASKS = (ReadingTask.Status.PENDING, ReadingTask.Status.REREAD)


@dataclass
class LastRead:
    """The previous valid reading of a register and the consumption it recorded (what the reader compares)."""

    value: Decimal
    quantity: Decimal | None
    multiplier: int

    @property
    def expected(self) -> tuple[Decimal, Decimal] | None:
        """The range the next reading is expected in: the last advance again, ±30 %."""
        if self.quantity is None or self.quantity <= 0:
            return None
        advance = self.quantity / self.multiplier
        return (self.value + advance * Decimal("0.7")).quantize(Decimal("1")), (
            self.value + advance * Decimal("1.3")
        ).quantize(Decimal("1"))


def last_reads(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], LastRead]:
    """The latest valid read per (meter, register) — one query for a whole route."""
    wanted = set(keys)
    found: dict[tuple[int, str], LastRead] = {}
    rows = (
        MeterRead.objects.filter(meter_id__in={m for m, _ in wanted}, status=MeterRead.Status.VALID)
        .order_by("meter_id", "register", "-read_at")
        .values_list("meter_id", "register", "value", "quantity", "multiplier")
    )
    for meter, register, value, quantity, multiplier in rows:
        key = (meter, register)
        if key in wanted and key not in found:
            found[key] = LastRead(value, quantity, multiplier)
    return found
