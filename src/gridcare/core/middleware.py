"""Stamp every request with a request id (taken from ``X-Request-ID`` when a proxy sets one)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from gridcare.core.context import new_request_id, origin
from gridcare.engine.text import safe_label, text_problem


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming[:64] if incoming.isascii() and incoming else new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        with origin(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ChineseFirstLocaleMiddleware:
    """Chinese unless the person chose otherwise: the language cookie decides, the browser's header does not.

    Django's LocaleMiddleware would follow ``Accept-Language`` and show English to anyone whose browser is set to
    English; gridcare is used in Chinese offices, so only an explicit choice (the language switch) changes it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class InputHygieneMiddleware:
    """The text rule (:func:`gridcare.engine.text.text_problem`) on every query-string value and every field
    of a UI form post, before any view runs: 400 naming the field. JSON bodies of the API are checked by
    :class:`gridcare.api.parsers.BoundedJSONParser` (the API's own form posts are small: the token endpoint)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        sources = [request.GET]
        if not api and request.method == "POST":
            sources.append(request.POST)
        errors: dict[str, list[str]] = {}
        for source in sources:
            for name, values in source.lists():
                for value in [name, *values]:
                    problem = text_problem(value)
                    if problem:
                        errors.setdefault(safe_label(name), []).append(problem)
                        break
        if not errors:
            return self.get_response(request)
        if api:
            detail = "输入有误 (invalid input)"
            return JsonResponse({"code": "invalid", "detail": detail, "errors": errors}, status=400)
        lines = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        return HttpResponseBadRequest(
            f"输入有误 (invalid input): {lines}", content_type="text/plain; charset=utf-8"
        )
