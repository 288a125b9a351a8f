"""Shared API building blocks: scoped querysets, action-backed writes and idempotency keys.

Viewsets never write: ``perform_*`` hands validated data to an action. Reads go through
:func:`gridcare.core.access.restrict` so objects outside the caller's data scope answer 404.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from rest_framework import permissions, serializers, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api import jsontext
from gridcare.api.jsontext import StoredForm
from gridcare.api.permissions import declared_permission, require
from gridcare.core.access import restrict
from gridcare.core.actions import whole_transaction
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.core.models import IdempotencyRecord
from gridcare.core.requests import StaffRequest
from gridcare.core.rows import TableRef, database, fetch_all, fetch_one

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


if TYPE_CHECKING:  # what the mixins are mixed into, so the type checker knows ``super()``
    from rest_framework.permissions import _PermissionClass

    _ViewSet = viewsets.GenericViewSet
else:
    _ViewSet = object


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def request_fingerprint(request: Request) -> str:
    """SHA-256 of what makes two requests the same request: method, path, query string and the parsed body
    in canonical form (keys sorted, uploaded files by name and content hash)."""
    query = sorted((k, v) for k in request.query_params for v in request.query_params.getlist(k))
    return fingerprint(request.method or "", request.path, query, request.data)


def fingerprint(method: str, path: str, query: list[tuple[str, str]], data: Any) -> str:
    """:func:`request_fingerprint` of a request's parts (``query`` sorted pairs, ``data`` the parsed body)."""
    plain = type(data) is dict or type(data) is list  # parsed JSON: already canonical (no files, str keys)
    digest = hashlib.sha256()
    for part in (method, path, json.dumps(query, ensure_ascii=False)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\n")
    digest.update(jsontext.canonical(data if plain else _canonical(data)))
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if isinstance(value, MultiValueDict):
        return {str(k): [_canonical(v) for v in value.getlist(k)] for k in value}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def jsonb_key_order(key: str) -> tuple[int, bytes]:
    """The order PostgreSQL's ``jsonb`` keeps an object's keys in: shorter keys first, then by their bytes."""
    encoded = key.encode()
    return len(encoded), encoded


def as_stored(data: Any) -> Any:
    """An answer exactly as its idempotency record gives it back: values through the record's JSON encoder and
    object keys in the order PostgreSQL's ``jsonb`` keeps them (shorter keys first, then by their bytes) — so a
    retry is answered byte for byte like the first request, on every database. A :class:`StoredForm` is
    already that."""
    if type(data) is StoredForm:
        return data
    return _jsonb_order(json.loads(json.dumps(data, cls=DjangoJSONEncoder)))


def _jsonb_order(value: Any) -> Any:
    if type(value) is dict:
        return {k: _jsonb_order(value[k]) for k in sorted(value, key=jsonb_key_order)}
    if type(value) is list:
        return [_jsonb_order(v) for v in value]
    return value


@functools.cache
def _claim_sql(vendor: str) -> str:
    """INSERT the key's record as "in progress" unless the (user, key) pair exists: on PostgreSQL a second
    request with the same key waits here for the first one's transaction, then finds its record."""
    r = TableRef(IdempotencyRecord)
    columns = ["user", "key", "method", "path", "fingerprint", "status_code", "response", "created_at"]
    names = ", ".join(getattr(r, c) for c in columns)
    return (
        f"INSERT INTO {r} ({names}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({r.user}, {r.key}) DO NOTHING RETURNING {r.id}"
    )


@functools.cache
def _answer_sql(vendor: str) -> str:
    r = TableRef(IdempotencyRecord)
    return f"UPDATE {r} SET {r.status_code} = %s, {r.response} = %s WHERE {r.id} = %s RETURNING {r.id}"


class IdempotentWritesMixin(_ViewSet):
    """Every ``POST/PUT/PATCH/DELETE`` carrying an ``Idempotency-Key`` header runs at most once per user and key.

    After authentication (:meth:`initial`), the handler of an unsafe request is wrapped: in one transaction
    with the write, the key is claimed first (``INSERT … ON CONFLICT DO NOTHING``), then the handler runs and
    its answer is stored on the record. A retry finds the record and never runs the handler — so it consumes
    no document number: the same request (method, path, query and canonical body: :func:`request_fingerprint`)
    gets the first answer back with ``Idempotent-Replayed: true``; another request under the same key is a
    409. Two requests with one key at the same time: the second waits on the key's row until the first
    commits, then replays it (or runs, if the first failed and rolled back). Only successful answers are
    kept: a refused request leaves no record, and the caller may retry it with the same key.

    Every viewset of the API inherits this (through :class:`ScopedViewSetMixin` or directly);
    ``tests/core/test_idempotency_all_writes.py`` checks every unsafe route of the router.
    """

    #: actions whose requests are served in groups (group commit): the handler claims its key with
    #: :func:`claim_keys` in the group's transaction and stores the answer with :func:`store_answers` — the same
    #: records, the same replay — and, for a request its group could not serve, calls :meth:`_once` itself
    grouped_writes: frozenset[str] = frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in UNSAFE_METHODS:
            return
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or not getattr(request.user, "is_authenticated", False):
            return
        if len(key) > 128:
            raise InvalidInput({IDEMPOTENCY_HEADER: "幂等键最长 128 个字符。 (At most 128 characters.)"})
        if getattr(self, "action", None) in self.grouped_writes:
            return  # the handler claims its key together with a group's (gridcare.core.gather)
        name = request.method.lower()
        handler = getattr(self, name, None)
        if handler is None:
            return

        def once(request: Request, *args: Any, **kwargs: Any) -> Any:
            return self._once(key, handler, request, *args, **kwargs)

        setattr(self, name, once)  # this view instance serves this one request

    def _once(self, key: str, handler: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        fingerprint = request_fingerprint(request)
        claimant = request.user.pk
        assert claimant is not None  # only signed-in callers' keys are kept (see initial)
        db = database()
        with whole_transaction():
            claimed = fetch_one(
                _claim_sql(db.vendor),
                [
                    claimant,
                    key,
                    request.method,
                    request.path[:255],
                    fingerprint,
                    0,
                    None,
                    _CREATED_FIELD.get_db_prep_save(timezone.now(), db),
                ],
            )
            if claimed is None:
                previous = IdempotencyRecord.objects.filter(user_id=claimant, key=key).first()
                if previous is None:  # pragma: no cover - the claim saw a row that vanished (cleanup)
                    raise Conflict("请稍后重试。 (The same request is in progress; retry later.)")
                return self._replay(previous, request, fingerprint)
            response = handler(request, *args, **kwargs)
            if response.status_code >= 300 or not isinstance(response, Response):
                # a refused request (or an answer that is not API data) keeps no record: the key is free
                # again, and the request is otherwise treated exactly as one without a key
                IdempotencyRecord.objects.filter(pk=claimed[0]).delete()
                return response
            response.data = as_stored(response.data)  # the first answer is the one every retry gets back
            fetch_one(
                _answer_sql(db.vendor),
                [response.status_code, _stored_response(response.data, db), claimed[0]],
            )
        return response

    @staticmethod
    def _replay(previous: IdempotencyRecord, request: Request, fingerprint: str) -> Response:
        return replay(previous, KeyedWrite(previous.key, request.method or "", request.path, fingerprint))


@dataclass(frozen=True)
class KeyedWrite:
    """A write under an idempotency key, as its record holds it: the key, method, path and fingerprint."""

    key: str
    method: str
    path: str
    fingerprint: str


def replay(previous: IdempotencyRecord, write: KeyedWrite) -> Response:
    """The first answer to ``write``'s key, marked replayed; a 409 if the key served another request or is still
    in progress."""
    if previous.status_code == 0:
        raise Conflict(
            f"幂等键「{previous.key}」的请求仍在处理中。 (A request with this idempotency key is in progress.)"
        )
    # (records from before fingerprints were kept compare by method and path)
    same = previous.fingerprint == write.fingerprint if previous.fingerprint else True
    if not same or (previous.method, previous.path) != (write.method, write.path[:255]):
        raise Conflict(
            f"幂等键「{previous.key}」已用于另一请求（{previous.method} {previous.path}）。 "
            "(Idempotency key already used for a different request.)"
        )
    response = Response(previous.response, status=previous.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def claim_keys(user_id: int, writes: Sequence[KeyedWrite]) -> list[int | IdempotencyRecord]:
    """:class:`IdempotentWritesMixin`'s claim for a group of one user's writes (distinct keys) in one statement,
    in the caller's transaction: per write, its new record's id, or the record that held the key already (see
    :func:`replay`). The keys are claimed in key order, so two groups never wait on each other crosswise."""
    if not writes:
        return []
    db = database()
    r = TableRef(IdempotencyRecord)
    columns = ["user", "key", "method", "path", "fingerprint", "status_code", "response", "created_at"]
    created = _CREATED_FIELD.get_db_prep_save(timezone.now(), db)
    ordered = sorted(writes, key=lambda w: w.key)
    values = ", ".join([f"({', '.join(['%s'] * len(columns))})"] * len(ordered))
    params: list[Any] = []
    for w in ordered:
        params += [user_id, w.key, w.method, w.path[:255], w.fingerprint, 0, None, created]
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {r} ({', '.join(getattr(r, c) for c in columns)}) VALUES {values} "
            f"ON CONFLICT ({r.user}, {r.key}) DO NOTHING RETURNING {r.key}, {r.id}",
            params,
        )
        claimed = dict(cursor.fetchall())
    taken = [w.key for w in writes if w.key not in claimed]
    held = (
        {rec.key: rec for rec in IdempotencyRecord.objects.filter(user_id=user_id, key__in=taken)}
        if taken
        else {}
    )
    answers: list[int | IdempotencyRecord] = []
    for w in writes:
        if w.key in claimed:
            answers.append(claimed[w.key])
        elif w.key in held:
            answers.append(held[w.key])
        else:  # pragma: no cover - the claim saw a row that vanished (cleanup)
            raise Conflict("请稍后重试。 (The same request is in progress; retry later.)")
    return answers


def store_answers(answers: Sequence[tuple[int, Response]]) -> None:
    """The answers of claimed keys (record id, response), stored as :class:`IdempotentWritesMixin` stores one;
    each response's data becomes what a retry gets back (:func:`as_stored`)."""
    if not answers:
        return
    db = database()
    rows = []
    for claimed, response in answers:
        response.data = as_stored(response.data)
        rows.append((response.status_code, _stored_response(response.data, db), claimed))
    if db.vendor == "postgresql":  # one prepared statement for the group
        fetch_all(_answers_sql(), [[row[i] for row in rows] for i in range(3)])
        return
    r = TableRef(IdempotencyRecord)
    with db.cursor() as cursor:
        cursor.executemany(f"UPDATE {r} SET {r.status_code} = %s, {r.response} = %s WHERE {r.id} = %s", rows)


@functools.cache
def _answers_sql() -> str:
    r, q = TableRef(IdempotencyRecord), TableRef(IdempotencyRecord, "r")  # (SET names columns unqualified)
    return (
        f"UPDATE {q} SET {r.status_code} = a.status, {r.response} = a.response "
        f"FROM unnest(%s::integer[], %s::jsonb[], %s::bigint[]) AS a(status, response, record) "
        f"WHERE {q.id} = a.record RETURNING {q.id}"
    )


def release_claims(claimed: Sequence[int]) -> None:
    """Free the keys of refused writes (a refused request keeps no record)."""
    if claimed:
        IdempotencyRecord.objects.filter(pk__in=list(claimed)).delete()


def _stored_response(data: Any, db: Any) -> Any:
    """The answer as the idempotency record's ``response`` parameter; a :class:`StoredForm`'s text is written
    once and handed to PostgreSQL as it is."""
    if type(data) is StoredForm and db.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb(data, dumps=lambda form: form.encoded())
    return _RESPONSE_FIELD.get_db_prep_save(data, db)


_RESPONSE_FIELD = IdempotencyRecord._meta.get_field("response")
_CREATED_FIELD = IdempotencyRecord._meta.get_field("created_at")


class ScopedViewSetMixin(IdempotentWritesMixin):
    """Restrict every list and detail query to the caller's data scope (and make every write idempotent)."""

    view_permission: str | None = None
    permission_classes: Sequence[_PermissionClass] = [HasViewPermission]
    request: StaffRequest

    def get_queryset(self) -> QuerySet[Any]:
        # reads (lists, detail, search) reach as far as the read scope; a change only what the write scope holds
        write = self.request.method not in SAFE_METHODS
        return restrict(super().get_queryset(), self.request.user, write=write)


class InputSerializer(serializers.Serializer):
    """A flat input form (no nested serializers) for a hot write path.

    DRF deep-copies every declared field for each serializer it creates, re-running each field's constructor
    (choice lists included). Flat fields hold no per-request state until bound, so a shallow copy per
    request is enough — and several times cheaper.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class ActionViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """A model viewset whose writes go through actions (subclasses implement perform_create/update)."""

    http_method_names = ["get", "post", "patch", "head", "options"]
