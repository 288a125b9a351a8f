"""Tabs of the customer 360 page (客户全景视图), contributed by apps.

An app adds a tab by defining ``TABS: list[CustomerTab]`` in its ``customer360.py`` (found with
:func:`gridcare.core.discovery.app_modules`); the customers app renders the tabs the user's position may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.functional import Promise

from gridcare.core.access import has_perm
from gridcare.core.discovery import app_modules

if TYPE_CHECKING:
    from gridcare.customers.models import Customer


@dataclass(frozen=True)
class CustomerTab:
    key: str
    label: str | Promise
    permission: str | None
    render: Callable[[HttpRequest, Customer], str]
    """Returns the tab's HTML fragment for this customer (already scoped to the request's user)."""
    order: int = 100


def customer_tabs(user: Any) -> list[CustomerTab]:
    tabs = [tab for _config, module in app_modules("customer360") for tab in getattr(module, "TABS", ())]
    return sorted(
        (t for t in tabs if t.permission is None or has_perm(user, t.permission)), key=lambda t: t.order
    )
