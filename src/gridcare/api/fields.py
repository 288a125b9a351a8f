"""Related-id input fields that resolve through the caller's data scope (the API side of ``core.scoped``).

:class:`ScopedPrimaryKeyRelatedField` (and its slug twin) look the id up in
``restrict(queryset, request.user)``: an object outside the scope answers the same 400 "does not exist" field
error as an id that was never used. :class:`ScopedModelSerializer` makes it the field every ``ModelSerializer``
builds for a foreign key, so serializers inherit it without naming it.
"""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from gridcare.core.scoped import scoped_choices


class _ScopedRelatedMixin:
    """Restrict the field's queryset to the user of the serializer's request when it is bound."""

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        return scoped_choices(queryset, getattr(request, "user", None))


class ScopedPrimaryKeyRelatedField(_ScopedRelatedMixin, serializers.PrimaryKeyRelatedField):
    """A primary key resolved within the caller's data scope (outside = does not exist)."""

    default_error_messages = {
        "does_not_exist": '「{pk_value}」不存在。 (Invalid pk "{pk_value}" - object does not exist.)',
    }


class ScopedSlugRelatedField(_ScopedRelatedMixin, serializers.SlugRelatedField):
    """A slug (code) resolved within the caller's data scope."""

    default_error_messages = {
        "does_not_exist": "「{value}」不存在。 (Object with {slug_name}={value} does not exist.)",
    }


class ScopedModelSerializer(serializers.ModelSerializer):
    """A ``ModelSerializer`` whose generated foreign-key fields resolve through the caller's scope."""

    serializer_related_field = ScopedPrimaryKeyRelatedField
