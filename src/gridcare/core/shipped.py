"""Shipped defaults: every app's ``defaults.py`` contributes a ``load(actor)`` that creates or updates the data a
new installation needs (position catalogue, SLA policies and dispatch rules, tariffs …) and yields one line per
part saying what it did. ``gridcare load_defaults`` runs them all, in app order, in one transaction; running it
again changes nothing (each loader creates what is missing and updates what differs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction

from gridcare.core.discovery import app_modules


def load_all(actor: Any = None) -> Iterator[str]:
    """Load every app's shipped defaults as ``actor`` (default: the system account); all or nothing."""
    from gridcare.org.selectors import system_actor

    with transaction.atomic():
        for _config, module in app_modules("defaults"):
            loader = getattr(module, "load", None)
            if loader is None:
                continue
            yield from loader(actor or system_actor())
