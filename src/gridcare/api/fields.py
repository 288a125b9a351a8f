"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ListOnlyManyRelatedField(serializers.ManyRelatedField):
    """DRF's many-related field iterates whatever it gets: a JSON object ``{}`` becomes an empty list and
    silently wipes the relation. This one accepts a JSON array only."""

    default_error_messages = {
        "not_a_list": "应为列表，收到的是 {input_type}。 (Expected a list of items but got type '{input_type}'.)",
    }

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class SlugListRelatedField(serializers.SlugRelatedField):
    """``SlugRelatedField(many=True, …)`` that refuses anything but a list (see :class:`ListOnlyManyRelatedField`)."""

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.ManyRelatedField:
        field = super().many_init(*args, **kwargs)
        field.__class__ = ListOnlyManyRelatedField
        return field
