"""API throttles: fixed windows counted in the cache, rates from ``settings.GRIDCARE_THROTTLE_RATES``.

DRF's own throttles keep every request's timestamp in one cache entry (thousands per user at the rates an
intake desk needs) and read their rates once at import; these cost one cache ``add``/``incr`` per request and read
the rate on each request (so tests and deployments can change it).
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"10/min"`` → (10, 60); ``None`` or ``""`` → no limit."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[:1]]


class FixedWindowThrottle(BaseThrottle):
    scope = ""
    #: the window's counter this throttle counted its request in (see :meth:`refund`)
    counted: str | None = None

    def get_ident_key(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        parsed = parse_rate(getattr(settings, "GRIDCARE_THROTTLE_RATES", {}).get(self.scope))
        if parsed is None:
            return True
        ident = self.get_ident_key(request, view)
        if ident is None:
            return True
        limit, period = parsed
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{window}"
        if cache.add(key, 1, timeout=period + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=period + 1)
                count = 1
        self.counted = key
        if count <= limit:
            return True
        wait = math.ceil((window + 1) * period - now)
        refused = Throttled(
            detail=f"请求过于频繁，请 {wait} 秒后再试。 (Too many requests: try again in {wait} s.)"
        )
        refused.wait = wait  # type: ignore[attr-defined]  # DRF answers it as the Retry-After header
        raise refused

    def refund(self) -> None:
        """Take back the count of a request handed on to be counted again where it is answered (a lane's post
        left to the view: :mod:`gridcare.api.lane`)."""
        if self.counted is not None:
            with contextlib.suppress(ValueError):  # (the window has expired: nothing to take back)
                cache.decr(self.counted)
            self.counted = None


class UserRateThrottle(FixedWindowThrottle):
    """Per signed-in user (high: a busy intake desk must never notice it)."""

    scope = "user"

    def get_ident_key(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        return str(user.pk) if user is not None and user.is_authenticated else None


class ChannelRateThrottle(UserRateThrottle):
    """Per payment channel's integration account on the channel interface (代收): a bank posts a whole city's
    payments through one account, so it gets its own, much higher rate than a person (``channel``)."""

    scope = "channel"


class AnonRateThrottle(FixedWindowThrottle):
    """Per address for requests without credentials."""

    scope = "anon"

    def get_ident_key(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return self.get_ident(request)


class LoginRateThrottle(FixedWindowThrottle):
    """Per (user name, address) on the token endpoint: password guessing is slowed before axes locks out."""

    scope = "login"

    def get_ident_key(self, request: Request, view: Any) -> str | None:
        username = ""
        data: Any = getattr(request, "data", None)
        if hasattr(data, "get"):
            value = data.get("username")
            username = value.strip().lower()[:150] if isinstance(value, str) else ""
        return f"{self.get_ident(request)}:{username}"
