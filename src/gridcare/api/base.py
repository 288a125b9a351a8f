"""Shared API building blocks: scoped querysets, action-backed writes and idempotency keys.

Viewsets never write: ``perform_*`` hands validated data to an action. Reads go through
:func:`gridcare.core.access.restrict` so objects outside the caller's data scope answer 404.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.permissions import declared_permission, require
from gridcare.core.access import restrict
from gridcare.core.actions import whole_transaction
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.core.models import IdempotencyRecord
from gridcare.core.rows import insert_row

IDEMPOTENCY_HEADER = "Idempotency-Key"


class HasViewPermission(permissions.BasePermission):
    """Reads need the viewset's ``view_permission``, writes their ``action_permissions`` entry (checked before
    the input is read; see :mod:`gridcare.api.permissions`); the action checks again."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        require(
            request.user, declared_permission(view, getattr(view, "action", None), request.method or "GET")
        )
        return True


class ScopedViewSetMixin:
    """Restrict every list and detail query to the caller's data scope."""

    view_permission: str | None = None
    permission_classes = [HasViewPermission]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return restrict(super().get_queryset(), self.request.user)  # type: ignore[misc]


class IdempotentCreateMixin:
    """``POST`` with an ``Idempotency-Key`` header: a retry returns the first answer and writes nothing new.

    The key is unique per user in the database and is recorded in the same transaction as the write, so two
    attempts cannot both write. The record is not looked up first: the common case — a new key — costs no
    extra query, and a retry fails at its insert (or on the way there) and is answered from the record.
    """

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return super().create(request, *args, **kwargs)  # type: ignore[misc]
        if len(key) > 128:
            raise InvalidInput({IDEMPOTENCY_HEADER: "幂等键最长 128 个字符。 (At most 128 characters.)"})
        try:
            with whole_transaction():
                response = super().create(request, *args, **kwargs)  # type: ignore[misc]
                if response.status_code < 300:
                    insert_row(
                        IdempotencyRecord(
                            user=request.user,
                            key=key,
                            method=request.method or "POST",
                            path=request.path,
                            status_code=response.status_code,
                            response=response.data,
                        )
                    )
        except Exception:
            # a retry of a request that already succeeded may now be refused (the state moved on) or collide
            # on the key: either way the first answer is the answer
            previous = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if previous is None:
                raise
            return self._replay(previous, request)
        return response

    @staticmethod
    def _replay(previous: IdempotencyRecord, request: Request) -> Response:
        if previous.path != request.path or previous.method != request.method:
            raise Conflict(
                f"幂等键「{previous.key}」已用于 {previous.method} {previous.path}。 "
                "(Idempotency key already used for another request.)"
            )
        response = Response(previous.response, status=previous.status_code)
        response["Idempotent-Replayed"] = "true"
        return response


class InputSerializer(serializers.Serializer):
    """A flat input form (no nested serializers) for a hot write path.

    DRF deep-copies every declared field for each serializer it creates, re-running each field's constructor
    (choice lists included). Flat fields hold no per-request state until bound, so a shallow copy per
    request is enough — and several times cheaper.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}  # type: ignore[attr-defined]


class ActionViewSet(ScopedViewSetMixin, IdempotentCreateMixin, viewsets.ModelViewSet):
    """A model viewset whose writes go through actions (subclasses implement perform_create/update)."""

    http_method_names = ["get", "post", "patch", "head", "options"]
