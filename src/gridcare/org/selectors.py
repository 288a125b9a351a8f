"""Reads of the organisation app that need care."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gridcare.org.models import User

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "catalogue.yaml"
SYSTEM_USERNAME = "system"


def read_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def system_actor() -> User:
    """The account batch jobs and commands act as: a superuser that cannot log in."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"full_name": "系统", "is_superuser": True, "is_staff": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
