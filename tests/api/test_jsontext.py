"""api.jsontext: the hot path's JSON through orjson means exactly what the standard library's JSON means."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from gridcare.api import jsontext
from gridcare.api.jsontext import StoredForm
from gridcare.api.renderers import JSONRenderer as StoredFormRenderer

# plain values as a parsed body holds them (text of every plane, integers of any size, floats without NaN)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
# what a StoredForm holds: no floats
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _json_canonical(data: Any) -> bytes:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None)
@given(documents, st.booleans())
def test_loads_means_what_json_loads_means(document: Any, ascii_only: bool) -> None:
    """Given any document written as JSON (escaped or not), then it parses to the same values, types included
    (an integer of 30 digits stays an integer)."""
    text = json.dumps(document, ensure_ascii=ascii_only)
    parsed = jsontext.loads(text, _refuse)
    expected = json.loads(text)
    assert parsed == expected
    assert json.dumps(parsed) == json.dumps(expected)  # no int turned float, no float turned int


@pytest.mark.parametrize(
    "text",
    ['{"value": NaN}', "[Infinity]", '"\\ud800"', "1e400", "[" * 2000 + "]" * 2000, '{"a": 1,}'],
)
def test_loads_leaves_what_orjson_refuses_to_the_standard_parser(text: str) -> None:
    """Given a text orjson refuses, then the answer is the standard parser's: its value, or its error."""
    try:
        expected: Any = json.loads(text, parse_constant=_refuse)
    except (ValueError, RecursionError) as error:
        with pytest.raises(type(error)):
            jsontext.loads(text, _refuse)
    else:
        assert jsontext.loads(text, _refuse) == expected


@settings(max_examples=300, deadline=None)
@given(documents)
def test_canonical_is_the_sorted_compact_utf8_text(document: Any) -> None:
    """Given any parsed document without floats' spelling differences, then the canonical text is the sorted,
    compact UTF-8 JSON — and two equal documents have the same canonical text."""
    canonical = jsontext.canonical(document)
    assert json.loads(canonical) == json.loads(_json_canonical(document))
    shuffled = json.loads(json.dumps(document))
    if isinstance(shuffled, dict):
        shuffled = dict(reversed(list(shuffled.items())))
    assert jsontext.canonical(shuffled) == canonical


def test_canonical_writes_what_orjson_cannot() -> None:
    """Given a lone surrogate or an integer beyond 64 bits, then the canonical text is the standard library's."""
    for document in ({"name": "\ud800"}, {"n": 10**30}, {"b": [1, {"z": 2, "a": "中"}]}):
        assert jsontext.canonical(document) == _json_canonical(document)


@settings(max_examples=300, deadline=None)
@given(plain_values)
def test_plain_is_byte_for_byte_what_drf_renders(document: Any) -> None:
    """Given plain values (a StoredForm's content), then the text is exactly DRF's compact rendering —
    U+2028 and U+2029 escaped as DRF escapes them."""
    assert jsontext.plain({"doc": document}) == JSONRenderer().render({"doc": document})
    assert StoredFormRenderer().render(StoredForm(doc=document)) == JSONRenderer().render({"doc": document})


def test_stored_form_text_is_written_once() -> None:
    form = StoredForm(results=[{"index": 0, "reason": "行\u2028分隔"}])
    assert form.encoded() is form.encoded()
    assert form.encoded() == JSONRenderer().render(dict(form))
    assert b"\\u2028" in form.encoded()


def test_indented_answer_is_rendered_by_drf() -> None:
    form = StoredForm(results=[1, 2])
    indented = StoredFormRenderer().render(form, "application/json; indent=2")
    assert indented == JSONRenderer().render(dict(form), "application/json; indent=2")
    assert b"\n" in indented
