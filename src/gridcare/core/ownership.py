"""Registry of owner-bearing models, for orphan transfer (孤儿客户转接).

Each app registers the fields that name a responsible person (an account's manager, a work order's assignee,
a prospect's owner, a unit's head). When staff leave, :func:`gridcare.org.actions.do_staff_leave` moves every
registered record they own to a successor in one audited transaction, so nothing is left without an owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class OwnedField:
    model: type[models.Model]
    field: str
    label: str

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field}"


_REGISTRY: dict[str, OwnedField] = {}


def register_owned(model: type[models.Model], field: str, *, label: str) -> None:
    entry = OwnedField(model, field, label)
    _REGISTRY[entry.key] = entry


def owned_fields() -> list[OwnedField]:
    return list(_REGISTRY.values())


def count_owned(user: models.Model) -> dict[str, int]:
    """How many records of each registered kind ``user`` owns now."""
    return {
        entry.key: entry.model._default_manager.filter(**{entry.field: user}).count()
        for entry in owned_fields()
    }
