"""Our own model fields."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from gridcare.core.fields import NumberListField


def test_a_number_list_is_kept_as_compact_json_text_and_read_back() -> None:
    field = NumberListField()
    assert field.get_prep_value([3.15, 0, 124506.01, -2]) == "[3.15,0,124506.01,-2]"
    assert field.from_db_value("[3.15,0,124506.01,-2]", None, None) == [3.15, 0, 124506.01, -2]
    assert field.from_db_value("[0.0, 12.5]", None, None) == [
        0.0,
        12.5,
    ]  # as PostgreSQL's jsonb::text wrote it
    assert field.from_db_value(None, None, None) is None and field.get_prep_value(None) is None


@pytest.mark.parametrize("value", [["1"], [True], [None], [[1]]])
def test_anything_but_numbers_is_refused_on_the_way_in(value: list[object]) -> None:
    with pytest.raises(ValidationError):
        NumberListField().get_prep_value(value)


@pytest.mark.parametrize("text", ["{}", "1", "[1,", "abc"])
def test_text_that_is_not_a_list_is_refused_on_the_way_out(text: str) -> None:
    with pytest.raises(ValidationError):
        NumberListField().to_python(text)
