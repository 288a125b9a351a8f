"""Reads of the intake screen (受理): live caller suggestions and the caller panel beside the form.

Everything goes through the caller's data scope: the hotline (客服班) reads every customer, a station desk only
its own station's. Phone numbers are shown masked unless the reader may see them in clear.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from gridcare.core.access import restrict
from gridcare.customers.masking import can_unmask, mask_mobile
from gridcare.customers.models import Account, Contact, ServicePoint
from gridcare.customers.selectors import search_accounts
from gridcare.service.choices import ACTIVE_STATUSES
from gridcare.service.models import WorkOrder
from gridcare.tariffs.models import Tariff

#: At most this many suggestions under the search box.
SUGGESTION_LIMIT = 10
#: Service points listed per account in the suggestions.
POINTS_PER_ACCOUNT = 3
#: The caller panel's "recent calls": this many orders of this many days.
RECENT_CALLS = 10
RECENT_DAYS = 90
#: A query that is a whole phone number (what makes a one-caller match select itself).
WHOLE_PHONE = re.compile(r"^\+?\d{7,15}$")


@dataclass(frozen=True)
class Suggestion:
    """One line under the search box: an account and one of its service points, with its primary contact."""

    account: Account
    point: ServicePoint | None
    contact_name: str
    phone_shown: str
    phone_clear: str
    """The clear number, only for a reader who may see it; empty otherwise (the action then takes the stored
    number itself)."""
    matched: tuple[str, ...]

    @property
    def address(self) -> str:
        return self.point.address if self.point else ""


def _primary_contacts(user: Any, customer_ids: set[int]) -> dict[int, Contact]:
    """The primary contact (else the first) of each customer, in scope."""
    contacts: dict[int, Contact] = {}
    rows = restrict(Contact.objects.filter(customer_id__in=customer_ids), user).order_by("-is_primary", "pk")
    for contact in rows:
        contacts.setdefault(contact.customer_id, contact)
    return contacts


def suggestions(user: Any, query: str) -> tuple[list[Suggestion], Suggestion | None]:
    """Up to :data:`SUGGESTION_LIMIT` suggestions for ``query`` (户号, phone, meter number, name, address) and the
    one to select at once: when the query is a whole phone number that belongs to exactly one customer, who has
    exactly one account and service point in scope."""
    query = (query or "").strip()
    if not query:
        return [], None
    hits = search_accounts(user, query, SUGGESTION_LIMIT)[:SUGGESTION_LIMIT]
    if not hits:
        return [], None
    account_ids = [hit.account.pk for hit in hits]
    points: dict[int, list[ServicePoint]] = {}
    for each in restrict(ServicePoint.objects.filter(account_id__in=account_ids), user).order_by("pk"):
        points.setdefault(each.account_id, []).append(each)
    contacts = _primary_contacts(user, {hit.account.customer_id for hit in hits})
    clear = can_unmask(user)
    found: list[Suggestion] = []
    for hit in hits:
        contact = contacts.get(hit.account.customer_id)
        mobile = contact.mobile if contact else ""
        options: list[ServicePoint | None] = [*points.get(hit.account.pk, [])[:POINTS_PER_ACCOUNT]] or [None]
        for point in options:
            found.append(
                Suggestion(
                    account=hit.account,
                    point=point,
                    contact_name=contact.name if contact else "",
                    phone_shown=mobile if clear else mask_mobile(mobile),
                    phone_clear=mobile if clear else "",
                    matched=hit.matched,
                )
            )
    found = found[:SUGGESTION_LIMIT]
    return found, _only_caller(user, query, found)


def _only_caller(user: Any, query: str, found: list[Suggestion]) -> Suggestion | None:
    if not WHOLE_PHONE.match(query):
        return None
    owners = set(
        restrict(Contact.objects.filter(mobile=query), user).values_list("customer_id", flat=True).distinct()
    )
    if len(owners) != 1:
        return None
    theirs = [s for s in found if s.account.customer_id in owners]
    return theirs[0] if len(theirs) == 1 else None


@dataclass(frozen=True)
class CallerPanel:
    """来电客户 — the customer card, the customer's open orders and recent calls."""

    account: Account
    point: ServicePoint | None
    tariff_name: str
    contact_name: str
    phone_shown: str
    open_orders: list[WorkOrder]
    recent_calls: list[WorkOrder]
    now: dt.datetime


def caller_panel(
    user: Any, account_id: Any, point_id: Any = None, *, now: dt.datetime | None = None
) -> CallerPanel | None:
    """The panel of the account ``account_id`` (and its service point ``point_id``) — ``None`` when either is
    unknown or outside the reader's scope."""
    try:
        account = (
            restrict(Account.objects.select_related("customer", "org_unit"), user)
            .filter(pk=int(account_id))
            .first()
        )
        point = (
            restrict(ServicePoint.objects.filter(account_id=account.pk), user)
            .filter(pk=int(point_id))
            .first()
            if account is not None and point_id not in (None, "")
            else None
        )
    except (TypeError, ValueError):
        return None
    if account is None or (point_id not in (None, "") and point is None):
        return None
    now = now or timezone.now()
    contact = _primary_contacts(user, {account.customer_id}).get(account.customer_id)
    mobile = contact.mobile if contact else ""
    orders = restrict(WorkOrder.objects.select_related("unit", "assignee"), user).filter(
        customer_id=account.customer_id
    )
    return CallerPanel(
        account=account,
        point=point,
        tariff_name=_tariff_name(user, point.tariff_code) if point else "",
        contact_name=contact.name if contact else "",
        phone_shown=mobile if can_unmask(user) else mask_mobile(mobile),
        open_orders=list(
            orders.filter(status__in=ACTIVE_STATUSES, master__isnull=True).order_by("due_at", "-created_at")[
                :20
            ]
        ),
        recent_calls=list(
            orders.filter(created_at__gte=now - dt.timedelta(days=RECENT_DAYS)).order_by("-created_at")[
                :RECENT_CALLS
            ]
        ),
        now=now,
    )


def _tariff_name(user: Any, code: str) -> str:
    """The catalogue name of the tariff ``code`` (staff know 居民阶梯电价, not ``RES-TIER``); the bare code when the
    catalogue does not hold it."""
    if not code:
        return ""
    name = restrict(Tariff.objects.filter(code=code), user).values_list("name", flat=True).first()
    return name or code
