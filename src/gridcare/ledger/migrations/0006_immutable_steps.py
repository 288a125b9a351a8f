"""Dunning steps and instalments are records of what happened: inserted once, never changed — the same triggers as
the ledger's financial records (0002): PostgreSQL refuses UPDATE and DELETE, SQLite UPDATE (its test flush is a
``DELETE FROM`` each table)."""

from django.db import migrations

from gridcare.core.schema import sql_by_vendor

TABLES = ["ledger_dunningstep", "ledger_instalment"]
MESSAGE = "账务记录不可修改或删除 (ledger records are never changed or deleted)"

PG_FORWARD = [
    sql
    for table in TABLES
    for sql in (
        f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}",
        f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable_guard()""",
    )
]
PG_BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}" for table in TABLES]
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_immutable BEFORE UPDATE ON {table}
FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END"""
    for table in TABLES
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_immutable" for table in TABLES]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_payment_plans")]

    operations = [
        sql_by_vendor(
            {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD},
        )
    ]
