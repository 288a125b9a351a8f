"""Serializer fields shared by every app's API.

Related-id input fields that resolve through the caller's data scope (the API side of ``core.scoped``):

:class:`ScopedPrimaryKeyRelatedField` (and its slug twin) look the id up in
``restrict(queryset, request.user)``: an object outside the scope answers the same 400 "does not exist" field
error as an id that was never used. :class:`ScopedModelSerializer` makes it the field every ``ModelSerializer``
builds for a foreign key, so serializers inherit it without naming it.

Dates and day counts with the bounds business data has (:class:`BusinessDateField`, :data:`MAX_DAYS_AHEAD`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from gridcare.core.scoped import scoped_choices


class ListOnlyManyRelatedField(serializers.ManyRelatedField):
    """DRF's many-related field iterates whatever it gets: a JSON object ``{}`` becomes an empty list and
    silently wipes the relation. This one accepts a JSON array only."""

    default_error_messages = {
        "not_a_list": "应为列表，收到的是 {input_type}。 (Expected a list of items but got type '{input_type}'.)",
    }

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return list(super().to_internal_value(data))


class SlugListRelatedField(serializers.SlugRelatedField):
    """``SlugRelatedField(many=True, …)`` that refuses anything but a list (see :class:`ListOnlyManyRelatedField`)."""

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.ManyRelatedField:
        field = super().many_init(*args, **kwargs)
        field.__class__ = ListOnlyManyRelatedField
        return field


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


class ScopedSlugRelatedField(_ScopedRelatedMixin, SlugListRelatedField):
    """A slug (code) resolved within the caller's data scope (with ``many=True``: a JSON array only)."""

    default_error_messages = {
        "does_not_exist": "「{value}」不存在。 (Object with {slug_name}={value} does not exist.)",
    }


class RoutingSlugRelatedField(ScopedSlugRelatedField):
    """An org-chart name every signed-in caller may choose whatever their data scope — the API's counterpart of
    :attr:`gridcare.core.scoped.ScopedForm.routing_fields` (a sales region, a team to hand work to): it discloses
    a name, not data. ``reason`` says why, as the form's declaration does; without a signed-in user: nothing."""

    def __init__(self, *, reason: str, **kwargs: Any) -> None:
        if not reason.strip():
            raise ValueError("a routing field says why it lists the whole organisation")
        self.reason = reason
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet:
        queryset = serializers.SlugRelatedField.get_queryset(self)
        assert queryset is not None  # a writable field is declared with its queryset
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return queryset if user is not None and user.is_authenticated else queryset.none()


class ScopedModelSerializer(serializers.ModelSerializer):
    """A ``ModelSerializer`` whose generated foreign-key fields resolve through the caller's scope."""

    serializer_related_field = ScopedPrimaryKeyRelatedField


FIRST_YEAR = 1901
"""Before 1901 Asia/Shanghai is local mean time (+08:05:43): no business date is that old."""
LAST_YEAR = 2100
MAX_DAYS_AHEAD = 3660
"""The longest span in days a query may ask for ("contracts expiring within n days"): ten years. Beyond it
``today + timedelta(days=n)`` overflows the calendar."""


class _BusinessYearMixin:
    """Refuse a parsed date or moment outside :data:`FIRST_YEAR` – :data:`LAST_YEAR`."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)  # type: ignore[misc]
        if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
            raise serializers.ValidationError(
                f"年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间。 "
                f"(The year must be between {FIRST_YEAR} and {LAST_YEAR}.)"
            )
        return parsed


class BusinessDateField(_BusinessYearMixin, serializers.DateField):
    """A date between 1901 and 2100."""


class BusinessDateTimeField(_BusinessYearMixin, serializers.DateTimeField):
    """A moment between 1901 and 2100 (any offset in, Asia/Shanghai out)."""
