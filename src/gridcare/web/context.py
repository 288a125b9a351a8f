"""Template context shared by every staff page: the menu of the signed-in person's position."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from gridcare.web.menu import menu_for


def workbench(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"menu_groups": menu_for(user)}
