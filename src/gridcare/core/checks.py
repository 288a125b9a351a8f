"""Deployment checks of the database gridcare runs on (``gridcare check --deploy --database default``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.checks import Tags, Warning, register
from django.db import connections

#: PostgreSQL settings that keep the planner's statistics current, and the value each needs
STATISTICS_SETTINGS = {"autovacuum": "on", "track_counts": "on"}


def statistics_warnings(alias: str, values: Mapping[str, str]) -> list[Warning]:
    """A warning for each statistics setting of database ``alias`` that is not as it must be: without fresh
    statistics PostgreSQL keeps planning a grown table as the empty one it analysed, and the hot paths' prepared
    statements keep those plans (a sequential scan of the ledger per channel post)."""
    return [
        Warning(
            f"数据库 {alias} 的 {name} 为 {values.get(name, '?')}：统计信息不会更新，查询计划会变慢。"
            f" (PostgreSQL's {name} is {values.get(name, '?')}: the planner's statistics go stale.)",
            hint=f"Set {name} = {wanted} in postgresql.conf (PostgreSQL's default), or run ANALYZE after large loads.",
            id="gridcare.W002",
        )
        for name, wanted in STATISTICS_SETTINGS.items()
        if values.get(name) != wanted
    ]


@register(Tags.database, deploy=True)
def check_postgresql_keeps_statistics(
    app_configs: Any = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[Warning]:
    found: list[Warning] = []
    for alias in databases or ():
        db = connections[alias]
        if db.vendor != "postgresql":
            continue
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(STATISTICS_SETTINGS)]
            )
            found += statistics_warnings(alias, dict(cursor.fetchall()))
    return found
