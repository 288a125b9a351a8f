"""The workbench menu: each app lists its screens in its own ``menu.py`` (``ITEMS``); a position sees only the
entries whose permission it holds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise

from gridcare.core.access import has_perm
from gridcare.core.discovery import app_modules


@dataclass(frozen=True)
class MenuItem:
    group: str | Promise
    label: str | Promise
    url_name: str
    permission: str | tuple[str, ...] | None  # a tuple: any one of the codes suffices
    icon: str = "circle"
    order: int = 100

    @property
    def url(self) -> str:
        return reverse(self.url_name)


@cache
def all_items() -> tuple[MenuItem, ...]:
    items: list[MenuItem] = []
    for _config, module in app_modules("menu"):
        items.extend(getattr(module, "ITEMS", ()))
    return tuple(sorted(items, key=lambda item: item.order))


def menu_for(user: Any) -> list[tuple[str, list[MenuItem]]]:
    """The entries a user may open, grouped in menu order."""
    groups: dict[str, list[MenuItem]] = {}
    for item in all_items():
        codes = (item.permission,) if isinstance(item.permission, str) else item.permission
        if codes is None or any(has_perm(user, code) for code in codes):
            groups.setdefault(str(item.group), []).append(item)
    return list(groups.items())
