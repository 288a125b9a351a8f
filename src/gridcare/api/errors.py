"""Translate errors into HTTP answers of one shape — ``{"code", "detail"}`` (+ ``errors`` per field on a 400) —
for business errors (400, 403, 404, 409) and DRF's own refusals (401, 403, 404, 405, 429) alike."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from gridcare.api.parsers import PayloadTooLarge
from gridcare.core.errors import GridcareError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response({"code": "too_large", "detail": str(PayloadTooLarge.default_detail)}, status=413)
    if isinstance(exc, GridcareError):
        return Response(exc.as_dict(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(response.data, dict):
        return response
    if response.status_code == 400:
        response.data = {"code": "invalid", "detail": "输入有误 (invalid input)", "errors": response.data}
    elif "code" not in response.data:
        response.data = {"code": _code_of(exc), **response.data}
    return response


def _code_of(exc: Exception) -> str:
    if isinstance(exc, Http404):
        return "not_found"
    if isinstance(exc, DjangoPermissionDenied):
        return "permission_denied"
    if isinstance(exc, APIException):
        codes = exc.get_codes()
        return codes if isinstance(codes, str) else str(exc.default_code)
    return "error"
