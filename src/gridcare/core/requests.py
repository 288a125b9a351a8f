"""Request types for the type checker: a request that reached a view has a signed-in staff member.

Every API view requires authentication (the API's default permission) and every screen requires a login, so
``request.user`` there is a :class:`gridcare.org.models.User`, never an anonymous user. Views and viewsets
declare their request with these types instead of repeating an ``isinstance`` check or an ignore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

if TYPE_CHECKING:
    from gridcare.org.models import User


class StaffRequest(Request):
    """An authenticated API request."""

    user: User


class StaffHttpRequest(HttpRequest):
    """An authenticated request to a screen."""

    user: User
