"""Shipped defaults of the tariffs app: the Chinese tariff definitions shipped with the engine."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

import yaml

from gridcare.engine.tariff import list_shipped_tariffs
from gridcare.org.models import User
from gridcare.tariffs.actions import do_import_tariff
from gridcare.tariffs.models import Tariff


def shipped_documents() -> Iterator[dict[str, Any]]:
    folder = resources.files("gridcare.engine.tariffs")
    for name in list_shipped_tariffs():
        path = folder.joinpath(f"{name}.yaml")
        yield yaml.safe_load(path.read_text(encoding="utf-8"))


def load(actor: User) -> Iterator[str]:
    """Add each shipped tariff not in the catalogue yet; a tariff already there is kept as it is (its versions
    are the company's record from then on)."""
    added = kept = 0
    for doc in shipped_documents():
        if Tariff.objects.filter(code=doc["code"]).exists():
            kept += 1
        else:
            do_import_tariff(actor, doc)
            added += 1
    yield f"电价 (tariffs): 新增 {added} (added), 保留 {kept} (kept), 共 {Tariff.objects.count()} (in the catalogue)"
