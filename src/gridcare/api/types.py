"""Typed helpers for the API layer's hooks."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from rest_framework import serializers

M = TypeVar("M", bound=models.Model)


def bound(serializer: serializers.BaseSerializer[M]) -> M:
    """The object an update's serializer is bound to.

    DRF's type leaves ``instance`` optional because a serializer may be built without one; in
    ``perform_update`` it never is.
    """
    instance = serializer.instance
    assert instance is not None, "perform_update without an instance"
    return instance
