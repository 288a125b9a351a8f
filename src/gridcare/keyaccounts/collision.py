"""Collision check of a prospect registration (防止撞单): is the company already held by someone, or a customer?

In order: the same unified credit code (a held prospect or a customer), the same normalised name, the same
normalised address (held prospects; indexed columns), then a very similar name among held prospects and
customers — :class:`gridcare.engine.names.NameIndex` kept in the process (built once from the database, new rows
picked up by id on every check, rebuilt when the tail of new names grows past ``INDEX_TAIL_LIMIT``). Every hit of
the index is confirmed against the database (the row still held, its name still similar), so a stale entry never
refuses anyone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from gridcare.customers.models import Customer
from gridcare.engine.names import NameIndex, normalise_name
from gridcare.keyaccounts.conf import conf
from gridcare.keyaccounts.models import Collision, Prospect

PROSPECT, CUSTOMER = 0, 1


@dataclass(frozen=True)
class Hit:
    """What a registration collides with (``prospect`` or ``customer`` id) and why."""

    reason: str
    prospect_id: int | None = None
    customer_id: int | None = None
    score: float | None = None


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: NameIndex | None = None
        self.database = ""
        self.prospect_max = 0
        self.customer_max = 0


_CACHE = _Cache()


def forget_name_index() -> None:
    """Drop the process's name index (tests that roll their database back; a restored database)."""
    with _CACHE.lock:
        _CACHE.index = None


def _held_names(after: int) -> list[tuple[int, str]]:
    return list(
        Prospect.objects.filter(pk__gt=after, status=Prospect.Status.HELD)
        .order_by("pk")
        .values_list("pk", "normalised_name")
    )


def _customer_names(after: int) -> list[tuple[int, str]]:
    rows = Customer.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "name")
    return [(pk, normalise_name(name)) for pk, name in rows.iterator(chunk_size=20_000)]


def name_index() -> NameIndex:
    """The process's index of held prospects' and customers' names, brought up to date."""
    database = str(connection.settings_dict.get("NAME"))
    with _CACHE.lock:
        fresh = _CACHE.index is None or _CACHE.database != database
        if fresh:
            _CACHE.prospect_max = _CACHE.customer_max = 0
        prospects = _held_names(0 if fresh else _CACHE.prospect_max)
        customers = _customer_names(0 if fresh else _CACHE.customer_max)
        if prospects:
            _CACHE.prospect_max = prospects[-1][0]
        if customers:
            _CACHE.customer_max = customers[-1][0]
        entries = [(pk * 2 + PROSPECT, name) for pk, name in prospects]
        entries += [(pk * 2 + CUSTOMER, name) for pk, name in customers]
        if fresh:
            _CACHE.index = NameIndex([k for k, _ in entries], [n for _, n in entries])
            _CACHE.database = database
        else:
            assert _CACHE.index is not None
            for key, name in entries:
                _CACHE.index.add(key, name)
            if _CACHE.index.tail_size > int(conf("INDEX_TAIL_LIMIT")):
                _CACHE.index.rebuild()
        return _CACHE.index


def _threshold() -> float:
    return float(conf("SIMILAR_NAME_THRESHOLD"))


def find_collision(
    *, normalised_name: str, credit_code: str, normalised_address: str, exclude: int | None = None
) -> Hit | None:
    """The first reason the company cannot be registered, or ``None``. ``exclude``: a prospect not to compare
    with (itself, when a dispute hands it over)."""
    held = Prospect.objects.filter(status=Prospect.Status.HELD)
    if exclude is not None:
        held = held.exclude(pk=exclude)
    if credit_code:
        found = held.filter(credit_code=credit_code).values_list("pk", flat=True).first()
        if found is not None:
            return Hit(Collision.Reason.CREDIT_CODE, prospect_id=found)
        customer = (
            Customer.objects.filter(id_type=Customer.IdType.CREDIT_CODE, id_number=credit_code)
            .values_list("pk", flat=True)
            .first()
        )
        if customer is not None:
            return Hit(Collision.Reason.CUSTOMER, customer_id=customer)
    found = held.filter(normalised_name=normalised_name).values_list("pk", flat=True).first()
    if found is not None:
        return Hit(Collision.Reason.NAME, prospect_id=found)
    if normalised_address:
        found = held.filter(normalised_address=normalised_address).values_list("pk", flat=True).first()
        if found is not None:
            return Hit(Collision.Reason.ADDRESS, prospect_id=found)
    return _similar(normalised_name, held)


def _similar(normalised_name: str, held: QuerySet[Prospect]) -> Hit | None:
    threshold = _threshold()
    matches = name_index().search(normalised_name, threshold, limit=10)
    prospect_ids = [m.key // 2 for m in matches if m.key % 2 == PROSPECT]
    live = dict(held.filter(pk__in=prospect_ids).values_list("pk", "normalised_name")) if prospect_ids else {}
    customer_ids = [m.key // 2 for m in matches if m.key % 2 == CUSTOMER]
    customers = set(Customer.objects.filter(pk__in=customer_ids).values_list("pk", flat=True))
    for match in matches:
        pk = match.key // 2
        if match.key % 2 == PROSPECT and live.get(pk) == match.name:
            reason = Collision.Reason.NAME if match.score >= 100 else Collision.Reason.SIMILAR_NAME
            return Hit(reason, prospect_id=pk, score=round(match.score, 1))
        if match.key % 2 == CUSTOMER and pk in customers:
            return Hit(Collision.Reason.CUSTOMER, customer_id=pk, score=round(match.score, 1))
    return None
