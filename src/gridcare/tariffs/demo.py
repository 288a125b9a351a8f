"""Demo tariffs: the Chinese definitions shipped with the engine (the same as ``gridcare load_defaults``)."""

from __future__ import annotations

from collections.abc import Iterator

from gridcare.org.models import User
from gridcare.tariffs.defaults import load, shipped_documents

__all__ = ["build", "shipped_documents"]


def build(actor: User, scale: str) -> Iterator[str]:
    yield from load(actor)
