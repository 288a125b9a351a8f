"""The deployment check of the database's statistics settings (gridcare.W002)."""

from __future__ import annotations

import pytest
from django.db import connection

from gridcare.core.checks import check_postgresql_keeps_statistics, statistics_warnings


def test_statistics_settings_as_needed_give_no_warning() -> None:
    assert statistics_warnings("default", {"autovacuum": "on", "track_counts": "on"}) == []


def test_each_setting_off_or_unknown_is_named() -> None:
    warnings = statistics_warnings("default", {"autovacuum": "off"})
    assert [w.id for w in warnings] == ["gridcare.W002", "gridcare.W002"]
    assert "autovacuum is off" in warnings[0].msg
    assert "track_counts is ?" in warnings[1].msg
    assert "autovacuum = on" in (warnings[0].hint or "")


@pytest.mark.django_db
def test_the_check_reads_the_database_it_is_given() -> None:
    found = check_postgresql_keeps_statistics(databases=["default"])
    if connection.vendor != "postgresql":
        assert found == []
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'autovacuum'")
        autovacuum = cursor.fetchone()[0]
    assert any("autovacuum" in w.msg for w in found) == (autovacuum != "on")
    assert check_postgresql_keeps_statistics(databases=None) == []
