"""Login protection: the token endpoint with lockout and throttling, and the lockout answer (django-axes)."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.throttling import LoginRateThrottle


def lockout_message(request: HttpRequest) -> str:
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else 0
    return (
        f"登录失败次数过多，该账号在此地址已被暂时锁定，请 {minutes} 分钟后再试或联系系统管理员。"
        f" (Too many failed logins: this account is locked at this address for {minutes} minutes.)"
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: 429 with a bilingual message, JSON on the API and a page on the screens."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


LOCKED_OUT = inline_serializer(
    "LockedOut", {"code": serializers.CharField(), "detail": serializers.CharField()}
)
TOKEN = inline_serializer("TokenAnswer", {"token": serializers.CharField()})


class TokenView(ObtainAuthToken):
    """``POST /api/auth/token/``: DRF's token login, throttled per (user name, address) and watched by axes.

    The Django request (not DRF's wrapper) goes to ``authenticate`` so that axes records failures and flags a
    lockout that its middleware turns into 429; a successful login is logged like a screen login.
    """

    throttle_classes = [LoginRateThrottle]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "request": self.request._request}

    @extend_schema(
        description="用户名和密码换取 API 令牌；连续输错密码会被锁定（429）。 "
        "(Exchange user name and password for an API token; repeated wrong passwords lock out: 429.)",
        responses={
            200: TOKEN,
            400: OpenApiResponse(description="wrong user name or password, or a missing field"),
            429: OpenApiResponse(LOCKED_OUT, description="locked out or throttled; see Retry-After"),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token.key})
