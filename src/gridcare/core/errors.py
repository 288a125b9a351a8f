"""Typed failures raised by actions and selectors.

Views and the API translate them to HTTP answers in one place (``gridcare.api.errors``); every error says
what went wrong, where and why, so the person at the screen can fix their input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any


class GridcareError(Exception):
    """Base of every business error; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.message}


class InvalidInput(GridcareError):
    """Input failed validation; ``errors`` maps a field (or ``__all__``) to its messages."""

    code = "invalid"

    def __init__(self, errors: Mapping[str, str | Iterable[str]], message: str | None = None) -> None:
        self.errors: dict[str, list[str]] = {
            field: [msgs] if isinstance(msgs, str) else [str(m) for m in msgs]
            for field, msgs in errors.items()
        }
        summary = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
        super().__init__(message or summary)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.message, "errors": self.errors}


class PermissionRefused(GridcareError):
    status = 403
    code = "permission_denied"


class LimitExceeded(PermissionRefused):
    """An amount is above the actor's authority limit (权限额度); names the limit and who may approve."""

    code = "limit_exceeded"

    def __init__(
        self, limit_code: str, limit_name: str, limit: Decimal, requested: Decimal, approvers: list[str]
    ) -> None:
        self.limit_code = limit_code
        self.limit = limit
        self.requested = requested
        self.approvers = approvers
        who = "、".join(approvers) if approvers else "—"
        super().__init__(
            f"超出权限额度「{limit_name}」：您的上限为 {limit}，本次为 {requested}；可审批岗位：{who}。"
            f" (Above your authority limit '{limit_code}': limit {limit}, requested {requested}; "
            f"approvers: {who}.)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "detail": self.message,
            "limit": self.limit_code,
            "limit_amount": str(self.limit),
            "requested": str(self.requested),
            "approvers": self.approvers,
        }


class NotFound(GridcareError):
    status = 404
    code = "not_found"


class InvalidTransition(GridcareError):
    """A state change that the current state does not allow; lists the allowed ones."""

    status = 409
    code = "invalid_transition"

    def __init__(self, current: str, requested: str, allowed: Iterable[str]) -> None:
        self.current = current
        self.requested = requested
        self.allowed = sorted(allowed)
        super().__init__(
            f"不能从「{current}」变为「{requested}」；允许的操作：{', '.join(self.allowed) or '无'}。"
            f" (Cannot go from '{current}' to '{requested}'.)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.message, "current": self.current, "allowed": self.allowed}


class Conflict(GridcareError):
    status = 409
    code = "conflict"
