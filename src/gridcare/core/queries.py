"""Small query building blocks shared by the apps' actions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def other_than(instance: models.Model | None) -> Q:
    """Rows other than ``instance`` — all rows while it has no primary key yet (uniqueness checks of a form
    that both creates and updates)."""
    pk = getattr(instance, "pk", None)
    return ~Q(pk=pk) if pk is not None else Q()
