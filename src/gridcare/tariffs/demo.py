"""Demo tariffs: the Chinese definitions shipped with the engine, loaded into the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import yaml

from gridcare.engine.tariff import list_shipped_tariffs
from gridcare.org.models import User
from gridcare.tariffs.actions import do_import_tariff
from gridcare.tariffs.models import Tariff


def shipped_documents() -> Iterator[dict]:
    folder = resources.files("gridcare.engine.tariffs")
    for name in list_shipped_tariffs():
        path = folder.joinpath(f"{name}.yaml")
        yield yaml.safe_load(path.read_text(encoding="utf-8"))


def build(actor: User, scale: str) -> Iterator[str]:
    added = 0
    for doc in shipped_documents():
        if not Tariff.objects.filter(code=doc["code"]).exists():
            do_import_tariff(actor, doc)
            added += 1
    yield f"tariffs: {added} added, {Tariff.objects.count()} in the catalogue"
