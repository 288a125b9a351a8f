"""The one place that enforces permissions, authority limits and data scope.

- A position (岗位) grants permission codes; superusers hold them all.
- Authority limits (权限额度) are amounts per position and limit type; :func:`check_limit` refuses above them and
  names the positions that may approve.
- Data scope per position: whole company / own unit and below / own unit / own records only. Every scoped model
  declares ``scope_unit_path`` (lookup to the owning unit's tree path) and optionally ``scope_owner`` (lookup to
  the owning user), or ``scope_public = True`` for catalogues every signed-in user may read; :func:`restrict` filters any queryset by them and :func:`get_in_scope` answers 404 outside.
- Read scope: a position may *read* customer data further than it may *write* it (``Position.read_scope``, data
  in the catalogue: the hotline and the billing team read every customer of the company). It applies to models
  declaring ``scope_customer_data = True`` and only to reads: :func:`restrict` and :func:`get_in_scope` read by
  default; actions pass ``write=True`` and are bounded by ``Position.data_scope`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.utils import translation

from gridcare.core.errors import LimitExceeded, NotFound, PermissionRefused

SCOPE_COMPANY = "company"
SCOPE_SUBTREE = "subtree"
SCOPE_UNIT = "unit"
SCOPE_OWN = "own"

#: From narrowest to widest: the wider of the read and the write scope applies to reads.
_BREADTH = {SCOPE_OWN: 0, SCOPE_UNIT: 1, SCOPE_SUBTREE: 2, SCOPE_COMPANY: 3}

M = TypeVar("M", bound=models.Model)

_CACHE_ATTR = "_gridcare_permission_codes"
#: Permission codes per (position id, permissions version), shared by the requests of one server process.
#: A change of a position's permissions raises its version, so stale entries are simply never asked for again.
_POSITION_CODES: dict[tuple[int, int], frozenset[str]] = {}


def permission_codes(user: Any) -> frozenset[str]:
    """The permission codes a user holds through their position (cached on the user object and per position
    version in the process; with the position loaded alongside the user this costs no query)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from gridcare.org.models import PermissionCode

    if user.is_superuser:
        codes: frozenset[str] = frozenset(PermissionCode.objects.values_list("code", flat=True))
    elif user.position_id is None or user.left_on is not None:
        codes = frozenset()
    else:
        position = user.position
        key = (position.pk, position.permissions_version)
        known = _POSITION_CODES.get(key)
        if known is None:
            known = frozenset(position.permissions.values_list("code", flat=True))
            if len(_POSITION_CODES) > 1000:  # versions only grow: drop the old ones now and then
                _POSITION_CODES.clear()
            _POSITION_CODES[key] = known
        codes = known
    setattr(user, _CACHE_ATTR, codes)
    return codes


def forget_cached_permissions(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def has_perm(user: Any, code: str) -> bool:
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return code in permission_codes(user)


def require_perm(user: Any, code: str) -> None:
    """Refuse unless the user's position grants ``code``; the message names the position and permission."""
    if has_perm(user, code):
        return
    from gridcare.org.models import PermissionCode

    name = PermissionCode.objects.filter(code=code).values_list("name", flat=True).first() or code
    position = getattr(getattr(user, "position", None), "name", None) or "—"
    raise PermissionRefused(
        f"您的岗位「{position}」没有「{name}」权限。 (Your position '{position}' lacks permission '{code}'.)"
    )


def authority_limit(user: Any, limit_code: str) -> Decimal | None:
    """The user's limit for ``limit_code``; ``None`` means unlimited (superuser)."""
    from gridcare.org.models import AuthorityLimit

    if user.is_superuser:
        return None
    if user.position_id is None:
        return Decimal("0")
    amount = (
        AuthorityLimit.objects.filter(position_id=user.position_id, limit_type__code=limit_code)
        .values_list("amount", flat=True)
        .first()
    )
    return amount if amount is not None else Decimal("0")


def check_limit(user: Any, limit_code: str, amount: Decimal) -> None:
    """Refuse when ``amount`` (absolute value) is above the user's authority limit."""
    from gridcare.org.models import AuthorityLimit, LimitType

    requested = abs(Decimal(amount))
    limit = authority_limit(user, limit_code)
    if limit is None or requested <= limit:
        return
    limit_type = LimitType.objects.filter(code=limit_code).first()
    if limit_type is None:
        raise ImproperlyConfigured(f"Unknown authority limit type '{limit_code}'.")
    approvers = list(
        AuthorityLimit.objects.filter(limit_type=limit_type, amount__gte=requested)
        .order_by("amount", "position__code")
        .values_list("position__name", flat=True)
    )
    raise LimitExceeded(limit_code, limit_type.name, limit, requested, approvers)


def data_scope(user: Any) -> str | None:
    """The user's write scope (and read scope for everything but customer data)."""
    if getattr(user, "is_superuser", False):
        return SCOPE_COMPANY
    position = getattr(user, "position", None)
    return position.data_scope if position is not None else None


def read_scope(user: Any) -> str | None:
    """How far the user reads customer data: the wider of the position's read scope and data scope."""
    write = data_scope(user)
    position = getattr(user, "position", None)
    wider = getattr(position, "read_scope", "") if position is not None else ""
    if write is None or not wider or _BREADTH.get(wider, -1) <= _BREADTH.get(write, -1):
        return write
    return wider


def is_customer_data(model: type[models.Model] | None) -> bool:
    return bool(model is not None and getattr(model, "scope_customer_data", False))


def scope_for(user: Any, model: type[models.Model] | None, *, write: bool = False) -> str | None:
    """The scope that applies to ``user`` reading (or, with ``write``, changing) rows of ``model``."""
    if not write and is_customer_data(model):
        return read_scope(user)
    return data_scope(user)


def restrict(queryset: models.QuerySet[M], user: Any, *, write: bool = False) -> models.QuerySet[M]:
    """Filter ``queryset`` to what ``user`` may see (or, with ``write``, change) under their position's scope."""
    model = queryset.model
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if getattr(model, "scope_public", False):
        return queryset
    unit_path = getattr(model, "scope_unit_path", None)
    owner = getattr(model, "scope_owner", None)
    if unit_path is None and owner is None:
        raise ImproperlyConfigured(
            f"{model.__name__} declares no data scope (scope_unit_path / scope_owner)."
        )
    scope = scope_for(user, model, write=write)
    if scope == SCOPE_COMPANY:
        return queryset
    if scope == SCOPE_OWN and owner is not None:
        if _is_multi_valued(model, owner):
            # e.g. a customer owned through any of its accounts: a subquery keeps each row once.
            owned = model._default_manager.filter(**{owner: user.pk}).values("pk")
            return queryset.filter(pk__in=owned)
        return queryset.filter(**{owner: user.pk})
    unit = getattr(user, "org_unit", None)
    if unit is None or unit_path is None or scope is None:
        return queryset.none()
    if scope == SCOPE_SUBTREE:
        return queryset.filter(_any_unit_path(unit_path, "__startswith", unit.path))
    return queryset.filter(_any_unit_path(unit_path, "", unit.path))


def row_in_scope(
    user: Any,
    *,
    unit_paths: Iterable[str | None],
    owner_ids: Iterable[int | None] | None = None,
    model: type[models.Model] | None = None,
    write: bool = False,
) -> bool:
    """The rule of :func:`restrict` applied to a row of ``model`` already fetched by a hand-written query (a hot
    path that selects the row's unit path(s) and owner id(s) alongside its data). ``owner_ids`` is ``None`` when
    the model declares no ``scope_owner``. Keep the two in step: tests compare them on every position."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    scope = scope_for(user, model, write=write)
    if scope == SCOPE_COMPANY:
        return True
    if scope == SCOPE_OWN and owner_ids is not None:
        return user.pk in set(owner_ids)
    unit = getattr(user, "org_unit", None)
    if unit is None or scope is None:
        return False
    paths = [path for path in unit_paths if path]
    if scope == SCOPE_SUBTREE:
        return any(path.startswith(unit.path) for path in paths)
    return unit.path in paths


def _any_unit_path(unit_path: str | tuple[str, ...], suffix: str, value: str) -> models.Q:
    """``scope_unit_path`` may name several unit-path lookups on the same row (a record shared by units,
    e.g. a work order's intake unit, responsible station and handling queue): any one of them grants."""
    lookups = (unit_path,) if isinstance(unit_path, str) else tuple(unit_path)
    condition = models.Q()
    for lookup in lookups:
        condition |= models.Q(**{f"{lookup}{suffix}": value})
    return condition


def _is_multi_valued(model: type[models.Model], lookup: str) -> bool:
    """Whether a lookup path crosses a reverse foreign key or many-to-many (so a join may repeat rows)."""
    current: Any = model
    for part in lookup.split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:  # a transform or the final attribute (e.g. ``pk``)
            return False
        if field.one_to_many or field.many_to_many:
            return True
        if not field.is_relation:
            return False
        current = field.related_model
    return False


def get_in_scope(queryset: models.QuerySet[M], user: Any, *, write: bool = False, **lookup: Any) -> M:
    """The object matching ``lookup`` if the user may see it (or, with ``write``, change it); otherwise a
    404-type error."""
    try:
        return restrict(queryset, user, write=write).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(not_found_message(queryset.model)) from None


def not_found_message(model: type[models.Model]) -> str:
    """未找到该工单… (Work order not found…): each half names the model in its own language, whatever language is
    active (a CLI runs in English, the web in Chinese), so no line mixes the two."""
    with translation.override("zh-hans"):
        chinese = str(model._meta.verbose_name)
    with translation.override("en"):
        english = str(model._meta.verbose_name)
    english = english[:1].upper() + english[1:]
    return f"未找到该{chinese}，或不在您的数据范围内。 ({english} not found or outside your data scope.)"
