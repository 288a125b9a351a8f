"""What the settlement triggers (ledger 0008) cost a payment: one payment entry INSERT plus one allocation INSERT,
4,000 times in a rolled-back transaction, with the two triggers disabled and enabled, alternating 3 times; prints
the wall time and the PostgreSQL backend's CPU (from /proc) per pair.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a database holding bill charges, e.g. a credit benchmark one> \\
        .venv/bin/python benchmarks/settlement_trigger_cost.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")

PAIRS = 4000


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(enabled: bool) -> tuple[float, float]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if not enabled:
            cursor.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_settlement")
            cursor.execute("ALTER TABLE ledger_allocation DISABLE TRIGGER ledger_allocation_settlement")
        cursor.execute(
            "SELECT id, account_id FROM ledger_entry WHERE kind = 'charge' ORDER BY id LIMIT %s", [PAIRS]
        )
        charges = cursor.fetchall()
        cursor.execute("SELECT id FROM org_user ORDER BY id LIMIT 1")
        user = cursor.fetchone()[0]
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        cpu, wall = backend_cpu(pid), time.perf_counter()
        for debit, account in charges:
            cursor.execute(
                "INSERT INTO ledger_entry (account_id, kind, amount, day, due_date, posted_at, posted_by_id, note) "
                "VALUES (%s, 'payment', -0.01, CURRENT_DATE, CURRENT_DATE, now(), %s, '') RETURNING id",
                [account, user],
            )
            credit = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO ledger_allocation (credit_id, debit_id, amount, cause_id, account_id) "
                "VALUES (%s, %s, 0.01, %s, %s)",
                [credit, debit, credit, account],
            )
        wall, cpu = time.perf_counter() - wall, backend_cpu(pid) - cpu
        transaction.set_rollback(True)
    return wall / len(charges) * 1000, cpu / len(charges) * 1000


def main() -> None:
    import django

    django.setup()
    for _ in range(3):
        for enabled in (False, True):
            wall, cpu = run(enabled)
            print(
                f"triggers {'on ' if enabled else 'off'}: {wall:.3f} ms wall, {cpu:.3f} ms PostgreSQL CPU per "
                f"payment (entry + allocation insert), load average {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
