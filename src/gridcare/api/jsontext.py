"""JSON text of the API's hot paths through orjson, with the standard library's meaning kept exactly.

A head-end batch of a thousand records is parsed, fingerprinted for its idempotency key, answered and stored
once per request; with the standard ``json`` module these four passes cost several milliseconds of the
request's CPU, with orjson a fraction of one. orjson is used only where it gives the same result as ``json``:

* :func:`loads` — orjson turns integers beyond 64 bits into floats, so a text with a run of 19 or more digits
  goes to ``json``; so does every text orjson refuses (``NaN``, lone surrogates, numbers beyond a double, deep
  nesting), where ``json`` and the parser's own checks give the API's usual answer.
* :func:`canonical` — keys sorted, no spaces, text as UTF-8; anything orjson cannot write (a lone surrogate,
  a big integer) is written by ``json`` in the same canonical form.
* :func:`plain` — a document of plain values (``dict``/``list``/``str``/``int``/``bool``/``None``, keys in the
  order given) as the compact UTF-8 text DRF's renderer and ``json.dumps`` give for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_DIGITS_AS_ZERO = str.maketrans(dict.fromkeys("123456789", "0"))
_LONG_NUMBER = "0" * 19  # a run of 19 digits (translated): an integer orjson might read as a float
_LINE_SEPARATORS = (b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # U+2028, U+2029: DRF escapes them for JavaScript


def loads(text: str, parse_constant: Callable[[str], Any]) -> Any:
    """``json.loads(text, parse_constant=…)``, faster for the texts orjson reads the same way."""
    if _LONG_NUMBER not in text.translate(_DIGITS_AS_ZERO):  # ASCII table: a fast pass in C
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the standard parser gives the answer (and the error message) the API always gave
    return json.loads(text, parse_constant=parse_constant)


def canonical(data: Any) -> bytes:
    """The canonical UTF-8 JSON of a parsed document: keys sorted, compact, other types through ``str``."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return text.encode("utf-8", "surrogatepass")


def plain(data: Any) -> bytes:
    """Compact UTF-8 JSON of plain values, byte for byte what DRF's ``JSONRenderer`` writes for them (what
    orjson cannot write — an integer beyond 64 bits — is written by ``json`` as DRF does)."""
    try:
        encoded = orjson.dumps(data)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
    for separator in _LINE_SEPARATORS:
        if separator in encoded:
            encoded = encoded.replace(separator, separator.decode().encode("unicode_escape"))
    return encoded


class StoredForm(dict[str, Any]):
    """An answer its view built already in stored form — only ``dict``/``list``/``str``/``int``/``bool``/``None``
    inside, every object's keys in ``api.base.jsonb_key_order`` — so ``api.base.as_stored`` hands it back as it
    is. For a hot path with a large answer (the head-end receipt's thousand results: the JSON round trip and the
    re-ordering cost several milliseconds a batch); its tests check that ``as_stored`` of a plain copy gives the
    same. Its JSON text is written once (:meth:`encoded`), for the idempotency record and for the answer."""

    _encoded: bytes | None = None

    def encoded(self) -> bytes:
        """The compact UTF-8 JSON text (what DRF's renderer writes for it), built on the first call."""
        if self._encoded is None:
            self._encoded = plain(self)
        return self._encoded
