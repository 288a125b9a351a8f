"""Token authentication that loads the user, the user's position and unit in one query.

Every API call checks permissions, which come from the position, and data scope, which comes from the unit:
loading both with the token and the user turns four queries per request into one, and the query is built once per process rather than on every call (the
codes themselves are cached per position version, see :func:`gridcare.core.access.permission_codes`).
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from gridcare.core.rows import column_of, fetch_one, from_row, select_columns
from gridcare.org.models import OrgUnit, Position, User


@functools.cache
def _token_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    user_fk = quote(Token._meta.get_field("user").column)
    position_fk = quote(User._meta.get_field("position").column)
    unit_fk = quote(User._meta.get_field("org_unit").column)
    token_pk = Token._meta.pk
    assert token_pk is not None
    return (
        f"SELECT {select_columns(Token, 't')}, {select_columns(User, 'u')}, {select_columns(Position, 'p')}, "
        f"{select_columns(OrgUnit, 'o')} "
        f"FROM {quote(Token._meta.db_table)} t JOIN {quote(User._meta.db_table)} u ON u.{quote('id')} = t.{user_fk} "
        f"LEFT JOIN {quote(Position._meta.db_table)} p ON p.{quote('id')} = u.{position_fk} "
        f"LEFT JOIN {quote(OrgUnit._meta.db_table)} o ON o.{quote('id')} = u.{unit_fk} "
        f"WHERE t.{quote(column_of(token_pk))} = %s"
    )


class PositionTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` — DRF's token check, with the user and position loaded together."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        row = fetch_one(_token_sql(connection.vendor), [key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        n_token, n_user = len(Token._meta.concrete_fields), len(User._meta.concrete_fields)
        n_position = len(Position._meta.concrete_fields)
        token = from_row(Token, row[:n_token])
        user = from_row(User, row[n_token : n_token + n_user])
        position_values = row[n_token + n_user : n_token + n_user + n_position]
        unit_values = row[n_token + n_user + n_position :]
        position = from_row(Position, position_values) if position_values[0] is not None else None
        unit = from_row(OrgUnit, unit_values) if unit_values[0] is not None else None
        User.position.field.set_cached_value(user, position)
        User.org_unit.field.set_cached_value(user, unit)
        Token.user.field.set_cached_value(token, user)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, token
