"""Trigram (pg_trgm) GIN indexes for partial search by meter asset number and barcode — PostgreSQL only.

On ``UPPER(column)`` like the customers' search indexes (see customers 0003): partial search uses them,
prefix search the btree pattern indexes.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = [
    ("metering_meter_asset_no_trgm", "metering_meter", "asset_no"),
    ("metering_meter_barcode_trgm", "metering_meter", "barcode"),
]
INDEX_SQL = "CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER({column}::text)) gin_trgm_ops)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(INDEX_SQL.format(name=name, table=table, column=column))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop, elidable=False),
    ]
