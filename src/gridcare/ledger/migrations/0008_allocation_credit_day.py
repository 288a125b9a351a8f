"""Each allocation keeps its credit's day (``credit_day``), filled from the credit entry for the rows there are.

The allocation table refuses UPDATE (ledger 0002): for the fill the PostgreSQL trigger is disabled inside this
migration's transaction; SQLite's is dropped and made again after the column becomes NOT NULL (SQLite rebuilds the
table for that, which drops its triggers)."""

import importlib

from django.db import migrations, models

IMMUTABLE = importlib.import_module("gridcare.ledger.migrations.0002_immutable")
TABLE = "ledger_allocation"
TRIGGER = f"{TABLE}_immutable"
FILL = (
    f"UPDATE {TABLE} SET credit_day = (SELECT e.day FROM ledger_entry e WHERE e.id = {TABLE}.credit_id) "
    "WHERE credit_day IS NULL"
)
SQLITE_TRIGGER = next(sql for sql in IMMUTABLE.SQLITE_FORWARD if f"ON {TABLE}\n" in sql)


def _fill(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        statements = [
            f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}",
            FILL,
            f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}",
        ]
    else:
        statements = [f"DROP TRIGGER IF EXISTS {TRIGGER}", FILL]
    for sql in statements:
        schema_editor.execute(sql, None)


def _guard_again(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER, None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_prepaid")]

    operations = [
        migrations.AddField(
            model_name="allocation",
            name="credit_day",
            field=models.DateField(null=True, verbose_name="credit's day"),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="allocation",
            name="credit_day",
            field=models.DateField(verbose_name="credit's day"),
        ),
        migrations.RunPython(_guard_again, migrations.RunPython.noop, elidable=False),
    ]
