"""After the demo's bulk load the planner's statistics are refreshed (ANALYZE on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from gridcare.core.management.commands.demo import refresh_statistics

pytestmark = pytest.mark.django_db


def test_statistics_are_refreshed_on_postgresql() -> None:
    refresh_statistics()  # a no-op elsewhere, never an error
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'org_orgunit'")
        (tuples,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM org_orgunit")
        (rows,) = cursor.fetchone()
    assert rows > 0 and tuples == rows  # the planner now knows how many units there are
