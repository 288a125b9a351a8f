"""Single-row SQL helpers: what they store and load equals what the ORM stores and loads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from gridcare.core.models import AuditEntry
from gridcare.core.rows import from_row, insert_row, select_columns
from gridcare.org.models import User

pytestmark = pytest.mark.django_db


def test_insert_row_stores_what_the_orm_would(staff) -> None:
    actor = staff("cs_rep")
    at = timezone.make_aware(dt.datetime(2026, 10, 1, 9, 30), dt.timezone(dt.timedelta(hours=8)))
    entry = insert_row(
        AuditEntry(
            at=at,
            actor=actor,
            actor_name="客服",
            action="test.row",
            object_type="x",
            object_id="1",
            before={"a": [1, "二"]},
            after=None,
        )
    )
    assert entry.pk is not None and not entry._state.adding
    loaded = AuditEntry.objects.get(pk=entry.pk)
    assert loaded.at == at and loaded.actor_id == actor.pk and loaded.before == {"a": [1, "二"]}
    assert loaded.after is None and loaded.job_id == ""


def test_from_row_applies_the_database_converters(staff) -> None:
    """Booleans and datetimes come back typed (SQLite stores them as integers and text)."""
    expected = staff("cs_rep")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select_columns(User, 'u')} FROM org_user u WHERE u.id = %s", [expected.pk])
        user = from_row(User, cursor.fetchone())
    assert user.pk == expected.pk and user.username == "cs_rep"
    assert user.is_active is True and user.is_superuser is False
    assert user.date_joined == expected.date_joined and user.date_joined.tzinfo is not None
    assert user.position_id == expected.position_id and not user._state.adding
