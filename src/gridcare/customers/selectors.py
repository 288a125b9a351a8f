"""Reads of the customers app that need care: the fast search (快速查询), periods in force, expiring contracts.

The search runs one small indexed query per kind of match (户号, name, phone, address, meter number), each
limited and scoped, and merges the account ids — never one OR across five joined tables, which no index serves.
Prefix matches use btree ``varchar_pattern_ops`` indexes; partial matches (≥ 3 characters) use ``pg_trgm``
GIN indexes on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from gridcare.core.access import SCOPE_SUBTREE, SCOPE_UNIT, restrict, scope_for
from gridcare.customers import lookups  # noqa: F401  (registers the ``__prefix`` lookup)
from gridcare.customers.conf import setting
from gridcare.customers.models import Account, Contact, EffectiveDated, ServicePoint, SupplyContract
from gridcare.org.models import OrgUnit

_ASCII = re.compile(r"^[0-9A-Za-z\-]+$")


@dataclass(frozen=True)
class SearchHit:
    account: Account
    matched: tuple[str, ...]
    """Which kinds matched: number, name, phone, address, meter."""


def _text_filter(field: str, query: str, partial: bool) -> Q:
    return Q(**{f"{field}__icontains": query}) if partial else Q(**{f"{field}__prefix": query})


@contextmanager
def _index_lookups_only() -> Iterator[None]:
    """PostgreSQL: plan the search's small LIMIT queries without sequential scans.

    Every search query has an index path; with a LIMIT the planner may still bet on a sequential scan finding
    matches early — a losing bet when the scope and the prefix are correlated (a 城关 rep typing 山…, all of
    which is 山南镇). The setting is transaction-local and restored afterwards.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
        previous = cursor.fetchone()[0]
        try:
            yield
        finally:
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [previous])


def search_accounts(user: Any, query: str, limit: int | None = None) -> list[SearchHit]:
    """Accounts in the user's scope matching ``query`` by 户号, name, phone, address or meter number.

    Prefix matches first; only when there are none, partial (substring) matches — they need
    ``search_partial_min_chars`` characters.
    Digits-only queries are not looked up in names; queries with Chinese characters not in numbers.
    """
    with _index_lookups_only():
        return _search_accounts(user, query, limit)


def _search_accounts(user: Any, query: str, limit: int | None = None) -> list[SearchHit]:
    query = (query or "").strip()
    if not query:
        return []
    limit = limit or int(setting("search_limit"))
    is_code = bool(_ASCII.match(query))
    partial = len(query) >= int(setting("search_partial_min_chars")) and not (
        is_code and len(query) > int(setting("search_partial_max_code_chars"))
    )
    found: dict[int, list[str]] = {}

    def take(kind: str, ids: Any) -> None:
        for account_id in ids:
            found.setdefault(account_id, [])
            if kind not in found[account_id]:
                found[account_id].append(kind)

    # .order_by(): no ORDER BY, so LIMIT never makes PostgreSQL walk the whole number index looking for rare matches
    accounts = restrict(Account.objects.order_by(), user)
    points = restrict(ServicePoint.objects.order_by(), user)
    scope = scope_for(user, Account)
    if scope in (SCOPE_SUBTREE, SCOPE_UNIT) and user.org_unit is not None:
        # Same rows, but the station ids let PostgreSQL use the (org_unit, name/address) indexes directly
        # instead of guessing how a join on the unit path correlates with a prefix (山… is all 山南镇).
        path = user.org_unit.path
        units = (
            OrgUnit.objects.filter(path__startswith=path)
            if scope == SCOPE_SUBTREE
            else OrgUnit.objects.filter(path=path)
        )
        unit_ids = list(units.values_list("id", flat=True))
        accounts = accounts.filter(org_unit_id__in=unit_ids)
        points = points.filter(org_unit_id__in=unit_ids)
    for exact_prefix in (True, False) if partial else (True,):
        if exact_prefix is False and found:  # partial matches only when nothing starts with the query
            break
        contains = not exact_prefix
        if is_code:
            take(
                "number",
                accounts.filter(_text_filter("number", query, contains)).values_list("id", flat=True)[:limit],
            )
            contacts = restrict(Contact.objects.order_by(), user).filter(
                _text_filter("mobile", query, contains)
            )
            customer_ids = list(contacts.values_list("customer_id", flat=True)[:limit])
            if customer_ids:
                take(
                    "phone",
                    accounts.filter(customer_id__in=customer_ids).values_list("id", flat=True)[:limit],
                )
            take("meter", _meter_account_ids(user, query, contains, limit))
        if not is_code or not query.isdigit():
            take(
                "name",
                accounts.filter(_text_filter("name", query, contains)).values_list("id", flat=True)[:limit],
            )
            take(
                "address",
                points.filter(_text_filter("address", query, contains)).values_list("account_id", flat=True)[
                    :limit
                ],
            )
    ids = list(found)[: limit * 2]
    rows = Account.objects.filter(pk__in=ids).select_related("customer", "org_unit", "account_manager")
    by_id = {a.pk: a for a in rows}
    return [SearchHit(by_id[i], tuple(found[i])) for i in ids if i in by_id]


def _meter_account_ids(user: Any, query: str, partial: bool, limit: int) -> list[int]:
    """Accounts whose installed meter's asset number or barcode matches (the metering app's table)."""
    from gridcare.metering.models import Meter

    meters = restrict(Meter.objects.filter(service_point__isnull=False).order_by(), user)
    ids: list[int] = []
    for field in ("asset_no", "barcode"):
        ids += list(
            meters.filter(_text_filter(field, query, partial)).values_list(
                "service_point__account_id", flat=True
            )[:limit]
        )
    return ids


def period_on(model: type[EffectiveDated], point: ServicePoint, day: dt.date) -> EffectiveDated | None:
    """The period of ``model`` in force on ``day`` (``valid_from <= day < valid_to``), for billing."""
    return (
        model._default_manager.filter(service_point=point, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .first()
    )


def expiring_contracts(
    user: Any, days: int | None = None, today: dt.date | None = None
) -> QuerySet[SupplyContract]:
    """供用电合同到期清单 — contracts in force ending within ``days`` (default: the configured 60)."""
    today = today or timezone.localdate()
    days = int(setting("contract_expiry_days")) if days is None else days
    return restrict(
        SupplyContract.objects.filter(
            status=SupplyContract.Status.ACTIVE,
            valid_to__gte=today,
            valid_to__lte=today + dt.timedelta(days=days),
        ).select_related("account", "account__customer"),
        user,
    )
