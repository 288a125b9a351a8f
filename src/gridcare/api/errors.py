"""Translate business errors into HTTP answers: 400 with field errors, 403, 404, 409."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
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
    if response is not None and response.status_code == 400 and isinstance(response.data, dict):
        response.data = {"code": "invalid", "detail": "输入有误 (invalid input)", "errors": response.data}
    return response
