"""The machine API (接口): the routes banks and payment aggregators call many times a second, served by a lean
Django handler of their own — the same views, permissions, idempotency and answers, without the browser's
middleware (sessions, CSRF, messages, CSP, login lockout, static files) and resolved against their own few URL
patterns instead of the whole API's.

A viewset joins by ``machine_api = True``; its routes keep their addresses and stay in the whole API too (the
schema, and the Django test client, see them there). :func:`route_machine_api` hands a request whose path starts
with one of the machine routes' prefixes to :class:`MachineAPIHandler`, everything else to the whole application
(``gridcare.wsgi``). The machine routes authenticate by token only: a browser session means nothing to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string

#: the URL configuration of the machine routes
URLCONF = "gridcare.api.machine_urls"

#: what a machine request passes through (outermost first): security headers, the language, the text rule on
#: the query string, the request id of its audit rows, and the machine routes' URLs
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridcare.core.middleware.ChineseFirstLocaleMiddleware",
    "gridcare.core.middleware.InputHygieneMiddleware",
    "gridcare.core.middleware.RequestIdMiddleware",
    "gridcare.api.machine.MachineRoutesMiddleware",
]


class MachineRoutesMiddleware:
    """Resolve the request against the machine routes only; every answer carries its length (as the whole
    application's CommonMiddleware gives it: a client reads it without chunked decoding, and the connection stays
    open for the next request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = URLCONF
        response = self.get_response(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A path under a machine prefix that is no machine route: the API's error shape, not the screens' page."""
    return JsonResponse({"code": "not_found", "detail": "未找到。 (Not found.)"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"code": "error", "detail": "服务器内部错误。 (Server error.)"}, status=500)


class MachineAPIHandler(WSGIHandler):
    """Django's WSGI handler with :data:`MIDDLEWARE` instead of ``settings.MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        if is_async:
            raise ImproperlyConfigured("The machine API is served by WSGI.")
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]  # (Django's, unstubbed)
        for path in reversed(MIDDLEWARE):
            layer = import_string(path)(handler)
            hooks = ("process_view", "process_template_response", "process_exception")
            if any(hasattr(layer, hook) for hook in hooks):
                raise ImproperlyConfigured(f"{path}: a machine API middleware only wraps the request.")
            handler = convert_exception_to_response(layer)
        self._middleware_chain = handler


def machine_prefixes() -> tuple[str, ...]:
    """The path prefixes of the machine routes, e.g. ``/api/ledger/channel/``."""
    from gridcare.api.machine_urls import PREFIXES

    return tuple(f"/api/{prefix}/" for prefix in PREFIXES)


def route_machine_api(whole: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: machine routes to :class:`MachineAPIHandler`, the rest to ``whole``."""
    machine = MachineAPIHandler()
    prefixes = machine_prefixes()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(prefixes):
            return machine(environ, start_response)
        return whole(environ, start_response)

    return application
