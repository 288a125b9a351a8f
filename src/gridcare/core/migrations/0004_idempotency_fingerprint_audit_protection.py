"""Idempotency records keep a fingerprint of the request; the audit table refuses changes in the database.

PostgreSQL: a row trigger refuses UPDATE and DELETE on ``core_auditentry`` (TRUNCATE — Django's flush of a test
database — fires no row trigger and still works). SQLite: a trigger refuses UPDATE; DELETE is refused by the
ORM only, because SQLite's flush is a ``DELETE FROM`` each table and a DELETE trigger would break test
databases (see docs/security/d.md).
"""

import django.core.serializers.json
from django.db import migrations, models

from gridcare.core.schema import sql_by_vendor

PG_FORWARD = [
    """CREATE OR REPLACE FUNCTION gridcare_audit_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are never changed or deleted (审计日志不可修改或删除)'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry",
    """CREATE TRIGGER core_auditentry_append_only BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION gridcare_audit_is_append_only()""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry",
    "DROP FUNCTION IF EXISTS gridcare_audit_is_append_only()",
]
SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
BEGIN
    SELECT RAISE(ABORT, 'audit entries are never changed (审计日志不可修改)');
END""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS core_auditentry_no_update"]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_alter_auditentry_job_id_alter_auditentry_object_id_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="fingerprint",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response",
            field=models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, null=True),
        ),
        sql_by_vendor(
            {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD},
        ),
    ]
