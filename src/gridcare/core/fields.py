"""Model fields of our own."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class NumberListField(models.TextField):  # type: ignore[type-arg]
    """A short list of numbers kept as its JSON text (``[3.15,0,12]``) in a plain text column — for rows written a
    million at a time (a month's credit scores), where PostgreSQL parsing ``jsonb`` on the way in cost a fifth of
    the write. Read back as the list; never queried inside."""

    description = "A list of numbers (JSON text)"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> list[Any] | None:
        return None if value is None else self.to_python(value)

    def to_python(self, value: Any) -> list[Any] | None:
        if value is None or isinstance(value, list):
            return value
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError) as error:
            raise ValidationError(f"Not a list of numbers: {value!r}") from error
        if not isinstance(parsed, list):
            raise ValidationError(f"Not a list of numbers: {value!r}")
        return parsed

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        numbers = list(value)
        if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
            raise ValidationError(f"Not a list of numbers: {value!r}")
        return json.dumps(numbers, separators=(",", ":"))

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""
