"""OpenAPI schema machinery shared by every app, so that the schema states what the API really answers.

* :class:`AutoSchema` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``): a read-only choice field whose model field
  allows ``""`` or ``NULL`` is declared so (DRF drops ``allow_blank``/``allow_null`` from read-only fields, and
  the schema then claimed an enum the answers break).
* :func:`declare_error_responses` (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``): every operation declares
  the error answers every endpoint can give — 400 with field errors, 401, 403, 404 (outside the caller's
  scope = does not exist), 405, 429 for all; 409 and 413 for writes — in the shape of
  :mod:`gridcare.api.errors`, instead of each view listing them.

Together with :class:`gridcare.api.parsers.BoundedJSONParser` this is what ``tests/api/test_fuzz.py`` (schemathesis
over the whole schema) holds the API to.
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.drainage import get_override
from rest_framework import serializers

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "错误 (error): code, a bilingual detail and, for 400, the messages per field.",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {}},
    },
}
_READ_ERRORS = {
    "400": "输入有误，errors 按字段说明 (invalid input; errors names each field)",
    "401": "未登录 (not authenticated)",
    "403": "无权限 (permission refused)",
    "404": "不存在或不在数据范围内 (does not exist, or outside the caller's scope)",
    "405": "不允许的方法 (method not allowed)",
    "429": "请求过于频繁 (throttled)",
}
_WRITE_ERRORS = {
    "409": "冲突：状态已变化或幂等键已用于其他请求 (conflict: the state moved on, or key reused)",
    "413": "请求体过大 (request body too large)",
}
_WRITES = {"post", "put", "patch", "delete"}


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict:
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not get_override(field, "field")
        ):
            blank, null = _model_allows(field)
            if (blank and not field.allow_blank) or (null and not field.allow_null):
                field = copy.copy(field)
                field.allow_blank = field.allow_blank or blank
                field.allow_null = field.allow_null or null
        return super()._map_serializer_field(field, direction, bypass_extensions)


def _model_allows(field: serializers.Field) -> tuple[bool, bool]:
    """(blank, null) of the model field behind a ModelSerializer field, (False, False) when there is none."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    source = getattr(field, "source", None)
    if model is None or not source or "." in source or source == "*":
        return False, False
    try:
        model_field = model._meta.get_field(source)
    except Exception:  # not a model field (a property, a method)
        return False, False
    return bool(getattr(model_field, "blank", False)), bool(getattr(model_field, "null", False))


def declare_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """Postprocessing hook: add the common error answers to every operation (declared ones are kept)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = {**_READ_ERRORS, **(_WRITE_ERRORS if method in _WRITES else {})}
            for status, description in errors.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
