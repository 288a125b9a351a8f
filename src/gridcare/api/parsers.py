"""The API's JSON parser: bounded body size and nesting depth, and the text rule on every string.

Registered as the only JSON parser in ``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``, so every endpoint of every
app inherits it. A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answers 413, malformed JSON 400, nesting deeper
than :data:`gridcare.engine.text.MAX_DEPTH` or a string with NUL, a control character, a lone surrogate or
only invisible characters 400 naming the field (``components.0.label``). Nothing reaches a view, so nothing
is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

from gridcare.api import jsontext
from gridcare.core.errors import InvalidInput
from gridcare.engine.text import MAX_DEPTH, iter_json_problems, iter_text_problems


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "请求体过大。 (Request body too large.)"
    default_code = "too_large"


class BoundedJSONParser(parsers.JSONParser):
    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"请求体超过 {limit} 字节。 (Request body larger than {limit} bytes.)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("请求体不是 UTF-8 文本。 (The body is not UTF-8 text.)") from None
        try:
            data = jsontext.loads(text, _refuse_constant)
        except RecursionError:
            data = None
            problems = [("<root>", f"嵌套超过 {MAX_DEPTH} 层。 (Nested deeper than {MAX_DEPTH} levels.)")]
        except ValueError as exc:
            raise ParseError(f"JSON 格式错误。 (JSON parse error: {exc})") from None
        else:
            problems = list(iter_json_problems(text, data))
        _refuse(problems)
        return data


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        errors: dict[str, list[str]] = {}
        for where, message in problems[:20]:
            errors.setdefault(where[:120], []).append(message)
        raise InvalidInput(errors)


def _form_problems(data: Any) -> list[tuple[str, str]]:
    return list(iter_text_problems({name: data.getlist(name) for name in data}))


class CheckedFormParser(parsers.FormParser):
    """URL-encoded forms of the API, with the text rule on every value."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _refuse([(where.rsplit(".", 1)[0], problem) for where, problem in _form_problems(data)])
        return data


class CheckedMultiPartParser(parsers.MultiPartParser):
    """Multipart forms of the API (uploads), with the text rule on every value (the files are the app's)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        result = super().parse(stream, media_type, parser_context)
        _refuse([(where.rsplit(".", 1)[0], problem) for where, problem in _form_problems(result.data)])
        return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number in JSON")
