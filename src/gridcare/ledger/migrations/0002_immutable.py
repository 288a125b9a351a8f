"""Entries, payments, allocations and daily closes are financial records: inserted once, never changed.

PostgreSQL: row triggers refuse UPDATE and DELETE of the four tables (TRUNCATE, used by a test database's flush,
is not a row event). SQLite: the same for UPDATE; DELETE is refused by the models only, because SQLite's flush of
a test database is a ``DELETE FROM`` each table (as billing 0002). The receipt-number sequence besides.
"""

from django.db import migrations

from gridcare.core.numbering import create_sequence
from gridcare.core.schema import sql_by_vendor

TABLES = ["ledger_entry", "ledger_payment", "ledger_allocation", "ledger_dailyclose"]
MESSAGE = "账务记录不可修改或删除 (ledger records are never changed or deleted)"

PG_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION ledger_immutable_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql""",
    *[
        sql
        for table in TABLES
        for sql in (
            f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}",
            f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable_guard()""",
        )
    ],
]
PG_BACKWARD = [
    *[f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}" for table in TABLES],
    "DROP FUNCTION IF EXISTS ledger_immutable_guard()",
]
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_immutable BEFORE UPDATE ON {table}
FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END"""
    for table in TABLES
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_immutable" for table in TABLES]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        sql_by_vendor(
            {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD},
        ),
        create_sequence("ledger_receipt_number_seq"),
    ]
