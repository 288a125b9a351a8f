"""Shipped defaults of the org app: the position catalogue (岗位目录, ``data/catalogue.yaml``)."""

from __future__ import annotations

from collections.abc import Iterator

from gridcare.org.actions import do_load_catalogue
from gridcare.org.models import User
from gridcare.org.selectors import read_catalogue


def load(actor: User) -> Iterator[str]:
    counts = do_load_catalogue(actor, read_catalogue())
    yield (
        f"岗位目录 (position catalogue): {counts.get('positions', 0)} 个岗位 (positions), "
        f"{counts.get('permissions', 0)} 项权限 (permissions)"
    )
