"""``__prefix``: a prefix match that PostgreSQL always answers from the btree ``varchar_pattern_ops`` index.

``LIKE 'abc%'`` can also be served by a trigram GIN index, and the planner sometimes picks that much slower
path. The pattern operators ``~>=~`` / ``~<~`` (byte order) exist only in the btree pattern opclass, so the
range ``[q, q⁺)`` plus the ``LIKE`` goes to the right index. Other databases get a plain ``LIKE 'q%'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models.lookups import StartsWith


@models.CharField.register_lookup
class Prefix(StartsWith):
    lookup_name = "prefix"

    def get_rhs_op(self, connection: Any, rhs: str) -> str:
        return connection.operators["startswith"] % rhs

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Sequence[Any]]:
        sql, params = super().as_sql(compiler, connection)
        value = str(self.rhs)
        if not value:
            return sql, params
        lhs, lhs_params = self.process_lhs(compiler, connection)
        upper = value[:-1] + chr(ord(value[-1]) + 1)
        return f"({lhs} ~>=~ %s AND {lhs} ~<~ %s AND {sql})", [
            *lhs_params,
            value,
            *lhs_params,
            upper,
            *params,
        ]
