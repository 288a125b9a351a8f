"""Find a module of the same name in every gridcare app (``menu``, ``api``, ``urls``, ``demo``).

Apps contribute screens, API routes and demo data by convention instead of editing shared files.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from types import ModuleType

from django.apps import AppConfig, apps


def app_modules(name: str) -> Iterator[tuple[AppConfig, ModuleType]]:
    """``(app config, module)`` for each installed gridcare app that has ``<app>.<name>``, in app order."""
    for config in apps.get_app_configs():
        if not config.name.startswith("gridcare."):
            continue
        try:
            module = import_module(f"{config.name}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{name}":
                raise
            continue
        yield config, module
