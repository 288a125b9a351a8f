"""Trigram (pg_trgm) GIN indexes for partial search by 户号, name, address and mobile — PostgreSQL only.

They index ``UPPER(column)``: Django's ``icontains`` (the partial search) uses them, while prefix matches stay
on the btree ``varchar_pattern_ops`` indexes Django creates for indexed CharFields (a trigram index on the bare
column would tempt the planner for prefix queries too, and it is much slower there). SQLite migrates without
any of this.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = [
    ("customers_account_number_trgm", "customers_account", "number"),
    ("customers_account_name_trgm", "customers_account", "name"),
    ("customers_servicepoint_address_trgm", "customers_servicepoint", "address"),
    ("customers_contact_mobile_trgm", "customers_contact", "mobile"),
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
    dependencies = [("customers", "0002_periods_contracts")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop, elidable=False),
    ]
