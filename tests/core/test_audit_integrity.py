"""Audit rows cannot be changed or deleted in bulk, nor behind the ORM's back (issue #9, defect 11).

Given audit rows, when code updates or deletes them through a queryset (``update()``, ``delete()``,
``bulk_update()``) the ORM refuses; when SQL does, the database refuses (PostgreSQL: UPDATE and DELETE; SQLite:
UPDATE — a DELETE trigger would break SQLite's flush of test databases, see docs/security/d.md). Emptying a test
database (Django's flush: TRUNCATE on PostgreSQL, DELETE on SQLite) still works.
"""

from __future__ import annotations

import pytest
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction

from gridcare.core.models import AuditEntry, ImmutableRecordError
from gridcare.org import actions
from gridcare.org.models import OrgUnit

TABLE = AuditEntry._meta.db_table


@pytest.fixture
def entry(staff) -> AuditEntry:  # type: ignore[no-untyped-def]
    unit = OrgUnit.objects.get(code="CG")
    actions.do_update_unit(staff("admin"), unit, name="城关中心供电所")
    return AuditEntry.objects.filter(action="org.update_unit", object_id=str(unit.pk)).latest("id")


def unchanged(entry: AuditEntry) -> bool:
    row = AuditEntry.objects.filter(pk=entry.pk).values("action", "after", "actor_id").first()
    return row == {"action": entry.action, "after": entry.after, "actor_id": entry.actor_id}


def test_queryset_update_is_refused(entry) -> None:
    with pytest.raises(ImmutableRecordError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(ImmutableRecordError):
        AuditEntry.objects.all().update(note="x")
    entry.note = "forged"
    with pytest.raises(ImmutableRecordError):
        AuditEntry.objects.bulk_update([entry], ["note"])
    with pytest.raises(ImmutableRecordError):
        AuditEntry.objects.update_or_create(pk=entry.pk, defaults={"note": "forged"})
    assert unchanged(entry)


def test_queryset_delete_is_refused(entry) -> None:
    count = AuditEntry.objects.count()
    with pytest.raises(ImmutableRecordError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(ImmutableRecordError):
        AuditEntry.objects.all().delete()
    with pytest.raises(ImmutableRecordError):
        entry.delete()
    assert AuditEntry.objects.count() == count and unchanged(entry)


def test_sql_update_is_refused_by_the_database(entry) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET action = %s WHERE id = %s", ["forged", entry.pk])
    assert unchanged(entry)


def test_sql_delete_is_refused_by_postgresql(entry) -> None:
    count = AuditEntry.objects.count()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
        assert AuditEntry.objects.count() == count and unchanged(entry)
    else:
        # SQLite: no DELETE trigger (its flush deletes row by row); the ORM refuses (test above)
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
            assert [name for (name,) in cursor.fetchall()] == ["core_auditentry_no_update"]


def test_flushing_a_test_database_still_empties_the_log(entry) -> None:
    """Django's flush (TRUNCATE on PostgreSQL — no row trigger fires; DELETE on SQLite) is not blocked."""
    assert AuditEntry.objects.exists()
    with transaction.atomic():  # rolled back with the test
        statements = connection.ops.sql_flush(no_style(), [TABLE], allow_cascade=True)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # the rows were written in this very transaction: run
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # their deferred foreign-key checks first
            for sql in statements:
                cursor.execute(sql)
        assert not AuditEntry.objects.exists()


def test_new_rows_are_still_written(staff) -> None:
    before = AuditEntry.objects.count()
    actions.do_create_unit(
        staff("admin"), code="AUD1", name="审计班", kind="team", parent=OrgUnit.objects.get(code="GC")
    )
    assert AuditEntry.objects.count() == before + 1
