"""Per-debit settlement (结清记录, :class:`~gridcare.ledger.models.Settlement`): the database triggers that keep it
in the statement inserting an entry or an allocation, and its derivation from the allocations — the fill of
existing data (migration 0008), :func:`rebuild` and :func:`mismatches` (``gridcare ledger check``, the tests).

Why triggers and not a call in each posting: every path that allocates (counter, channel API and batch files,
prepayment consumed by a bill, waiver and write-off approvals, reversal, refund, bulk loads) inserts
``ledger_allocation`` rows; a statement-level trigger (PostgreSQL, with the statement's new rows as a transition
table) updates the settlement of the debits those rows touch, set-based, inside the same statement — so no
posting path can forget it and none sends one statement more (the channel hot path's budget is unchanged). SQLite
does it per row. The financial records stay insert-only: the settlement row is derived bookkeeping, and a reversal
(negative allocation rows) lowers ``settled`` and empties ``settled_on`` again.

The rule it keeps, for a debit ``d`` and its allocations ``a`` (each with its credit entry ``c``):
``settled = Σ a.amount``, ``on_time = Σ a.amount where c.day ≤ d.due_date``, ``first_day = min c.day``, ``last_day = max c.day``,
``settled_on = last_day if settled ≥ d.amount`` — the same figures the credit features derived from the
allocations every month before.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from gridcare.ledger.models import Allocation, Entry, Settlement

TABLE = Settlement._meta.db_table
ENTRY = Entry._meta.db_table
ALLOCATION = Allocation._meta.db_table
COLUMNS = "debit_id, account_id, kind, due_date, amount, settled, on_time, first_day, last_day, settled_on"


def fen(expression: str, vendor: str) -> str:
    """SQL: a 2-decimal amount in 分 (exact: PostgreSQL NUMERIC; SQLite REAL rounded to the unit)."""
    if vendor == "postgresql":
        return f"CAST({expression} * 100 AS BIGINT)"
    return f"CAST(ROUND({expression} * 100) AS INTEGER)"


PG_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION ledger_settlement_open() RETURNS trigger AS $$
BEGIN
    INSERT INTO {TABLE} ({COLUMNS})
    SELECT n.id, n.account_id, n.kind, n.due_date, {fen("n.amount", "postgresql")}, 0, 0, NULL, NULL, NULL
    FROM new_entries n WHERE n.amount > 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS ledger_entry_settlement ON {ENTRY}",
    f"""CREATE TRIGGER ledger_entry_settlement AFTER INSERT ON {ENTRY}
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_settlement_open()""",
    # also under ``session_replication_role = replica`` (the demo's bulk writer trusts its references that way)
    f"ALTER TABLE {ENTRY} ENABLE ALWAYS TRIGGER ledger_entry_settlement",
    # EXECUTE: planned afresh each time. A static statement without parameters keeps the generic plan PL/pgSQL made
    # at its first run for the whole session — made on empty tables (a new database, the test run's), it scanned
    # whole indexes later and took seconds per payment once the tables had grown in the same session.
    f"""CREATE OR REPLACE FUNCTION ledger_settlement_allocate() RETURNS trigger AS $$
BEGIN
    EXECUTE $q$UPDATE {TABLE} s SET
        settled = s.settled + x.amount,
        on_time = s.on_time + x.on_time,
        first_day = LEAST(s.first_day, x.first_day),
        last_day = GREATEST(s.last_day, x.last_day),
        settled_on = CASE WHEN s.settled + x.amount >= s.amount THEN GREATEST(s.last_day, x.last_day) END
    FROM (
        SELECT n.debit_id, SUM({fen("n.amount", "postgresql")}) AS amount,
            SUM(CASE WHEN c.day <= t.due_date THEN {fen("n.amount", "postgresql")} ELSE 0 END) AS on_time,
            MIN(c.day) AS first_day, MAX(c.day) AS last_day
        FROM new_allocations n
        JOIN {ENTRY} c ON c.id = n.credit_id
        JOIN {TABLE} t ON t.debit_id = n.debit_id
        GROUP BY n.debit_id
    ) x
    WHERE s.debit_id = x.debit_id$q$;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS ledger_allocation_settlement ON {ALLOCATION}",
    f"""CREATE TRIGGER ledger_allocation_settlement AFTER INSERT ON {ALLOCATION}
    REFERENCING NEW TABLE AS new_allocations FOR EACH STATEMENT EXECUTE FUNCTION ledger_settlement_allocate()""",
    f"ALTER TABLE {ALLOCATION} ENABLE ALWAYS TRIGGER ledger_allocation_settlement",
]
PG_BACKWARD = [
    f"DROP TRIGGER IF EXISTS ledger_allocation_settlement ON {ALLOCATION}",
    f"DROP TRIGGER IF EXISTS ledger_entry_settlement ON {ENTRY}",
    "DROP FUNCTION IF EXISTS ledger_settlement_allocate()",
    "DROP FUNCTION IF EXISTS ledger_settlement_open()",
]
_SQLITE_AMOUNT = fen("NEW.amount", "sqlite")
_SQLITE_DAY = f"(SELECT c.day FROM {ENTRY} c WHERE c.id = NEW.credit_id)"
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entry_settlement AFTER INSERT ON {ENTRY}
FOR EACH ROW WHEN NEW.amount > 0 BEGIN
    INSERT INTO {TABLE} ({COLUMNS})
    VALUES (NEW.id, NEW.account_id, NEW.kind, NEW.due_date, {_SQLITE_AMOUNT}, 0, 0, NULL, NULL, NULL);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_allocation_settlement AFTER INSERT ON {ALLOCATION}
FOR EACH ROW BEGIN
    UPDATE {TABLE} SET
        settled = settled + {_SQLITE_AMOUNT},
        on_time = on_time + CASE WHEN {_SQLITE_DAY} <= due_date THEN {_SQLITE_AMOUNT} ELSE 0 END,
        first_day = MIN(COALESCE(first_day, '9999-12-31'), {_SQLITE_DAY}),
        last_day = MAX(COALESCE(last_day, ''), {_SQLITE_DAY}),
        settled_on = CASE WHEN settled + {_SQLITE_AMOUNT} >= amount
            THEN MAX(COALESCE(last_day, ''), {_SQLITE_DAY}) END
    WHERE debit_id = NEW.debit_id;
END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_allocation_settlement",
    "DROP TRIGGER IF EXISTS ledger_entry_settlement",
]


def derived_sql(vendor: str) -> str:
    """SQL: the settlement of every debit entry derived from the allocations, in the columns (and names) of
    ``COLUMNS``."""
    amount = fen("e.amount", vendor)
    allocated = fen("al.amount", vendor)
    return (
        f"SELECT e.id AS debit_id, e.account_id AS account_id, e.kind AS kind, e.due_date AS due_date, "
        f"{amount} AS amount, COALESCE(p.settled, 0) AS settled, COALESCE(p.on_time, 0) AS on_time, "
        f"p.first_day AS first_day, p.last_day AS last_day, CASE WHEN COALESCE(p.settled, 0) >= {amount} THEN p.last_day END AS settled_on "
        f"FROM {ENTRY} e LEFT JOIN ("
        f"SELECT al.debit_id, SUM({allocated}) AS settled, "
        f"SUM(CASE WHEN c.day <= d.due_date THEN {allocated} ELSE 0 END) AS on_time, MIN(c.day) AS first_day, "
        f"MAX(c.day) AS last_day "
        f"FROM {ALLOCATION} al JOIN {ENTRY} c ON c.id = al.credit_id "
        f"JOIN {ENTRY} d ON d.id = al.debit_id GROUP BY al.debit_id"
        f") p ON p.debit_id = e.id WHERE e.amount > 0"
    )


def fill(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Migration 0008: the settlement of the existing debits, then the triggers that keep it from now on."""
    vendor = schema_editor.connection.vendor
    schema_editor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) {derived_sql(vendor)}", None)
    for sql in PG_FORWARD if vendor == "postgresql" else SQLITE_FORWARD:
        schema_editor.execute(sql, None)


def drop(schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in PG_BACKWARD if vendor == "postgresql" else SQLITE_BACKWARD:
        schema_editor.execute(sql, None)


def rebuild() -> int:
    """Derive every settlement row again from the allocations (after a bulk load with the triggers disabled, as
    the credit benchmark's fill); the number of rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {TABLE}")
        else:
            cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) {derived_sql(connection.vendor)}")
        return int(cursor.rowcount)


def mismatches(limit: int = 20) -> list[tuple[object, ...]]:
    """Debits whose stored settlement differs from the one derived from the allocations (or is missing, or is
    left over): (debit id, then settled, on_time, last_day, settled_on stored and derived), at most ``limit``.
    Empty when the record is consistent with the allocations."""
    derived = derived_sql(connection.vendor)
    differs = " OR ".join(
        [
            f"s.{name} <> d.{name}"
            for name in ("account_id", "kind", "due_date", "amount", "settled", "on_time")
        ]
        + [
            f"COALESCE(s.{name}, '1900-01-01') <> COALESCE(d.{name}, '1900-01-01')"
            for name in ("first_day", "last_day", "settled_on")
        ]
    )
    sql = (
        f"SELECT COALESCE(d.debit_id, s.debit_id), s.settled, s.on_time, s.last_day, s.settled_on, "
        f"d.settled, d.on_time, d.last_day, d.settled_on "
        f"FROM {TABLE} s FULL OUTER JOIN ({derived}) d ON d.debit_id = s.debit_id "
        f"WHERE s.debit_id IS NULL OR d.debit_id IS NULL OR {differs} ORDER BY 1 LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
