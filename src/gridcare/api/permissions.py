"""Which permission each API route needs, declared on the viewset and checked before any input is read.

A viewset declares ``view_permission`` for its reads (list, detail and ``GET`` extra routes) and
``action_permissions`` for its writes — one entry per DRF action (``create``, ``partial_update``, each extra
``@action`` route), a code or a tuple of codes of which any one suffices. The check runs before the body is
validated, so a caller without the permission gets 403 whatever they send (not a 400 that would tell them about
ids they may not see); the action layer checks again (``@action(permission=…)``), with limits and scope.

A route that needs no permission says so with :data:`PUBLIC` and a reason in ``public_reasons``. The
authorization matrix test (``tests/core/test_authorization_matrix.py``) refuses any route left undeclared.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS

from gridcare.core.access import has_perm, require_perm
from gridcare.core.errors import PermissionRefused

#: Declared for a route every signed-in user may use (with a reason in the viewset's ``public_reasons``).
PUBLIC = "public"

_UNDECLARED = object()


def declared_permission(view: Any, action: str | None, method: str) -> Any:
    """The declaration for ``action`` of ``view``: a code, a tuple of codes, :data:`PUBLIC`, ``None`` (no
    declaration of its own: reads fall back to ``view_permission``) or the undeclared marker."""
    declared = getattr(view, "action_permissions", {}) or {}
    if action in declared:
        return declared[action]
    if method in SAFE_METHODS:
        return getattr(view, "view_permission", _UNDECLARED)
    return _UNDECLARED


def is_declared(value: Any) -> bool:
    return value is not _UNDECLARED and value is not None


def require(user: Any, value: Any) -> None:
    """Refuse (403 naming the position and the permission) unless ``user`` passes the declaration."""
    if allows(user, value):
        return
    codes = (value,) if isinstance(value, str) else tuple(value)
    require_perm(user, codes[0]) if len(codes) == 1 else require_any(user, codes)


def require_any(user: Any, codes: tuple[str, ...]) -> None:
    position = getattr(getattr(user, "position", None), "name", None) or "—"
    wanted = " / ".join(codes)
    raise PermissionRefused(
        f"您的岗位「{position}」没有以下任一权限：{wanted}。 (Your position '{position}' lacks all of: {wanted}.)"
    )


def allows(user: Any, value: Any) -> bool:
    """Whether ``user`` passes the declaration ``value`` (undeclared writes are left to the action layer)."""
    if value is _UNDECLARED or value is None or value == PUBLIC:
        return True
    codes = (value,) if isinstance(value, str) else tuple(value)
    return any(has_perm(user, code) for code in codes)
