"""Benchmark: the monthly credit scores (信用评价) of 1,000,000 accounts on PostgreSQL — target ≤ 30 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare_bench_credit \\
        .venv/bin/python benchmarks/credit_scores.py [--accounts 1000000] [--months 12] [--month 2026-10]

Uses a dedicated database: migrated, the demo org and the shipped rules loaded, then — when it holds fewer
accounts — filled set-based in SQL (``INSERT … SELECT … generate_series``, cloning a template row so every column
gets a value): customers and accounts, ``--months`` monthly bill charges per account (due the 25th) and, for 90 %
of them, a payment settling the bill — 70 % on the due date, 20 % 1–60 days late — with its allocation; the other
10 % stay open. Then it times ``do_compute_credit_scores`` for the month (features from one ledger query, the
violation rebills, the engine, COPY of the score rows), deleting that month's scores first so every run scores
every account. Prints seconds, rows/s, peak memory (RSS high-water mark of the process) and the grades.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")


def clone(
    model: type, template_pk: int, count: int, overrides: dict[str, str], params: list[object], join: str = ""
) -> None:
    """Insert ``count`` copies of the template row (``g`` = 1 … count), with ``overrides`` (field → SQL)."""
    from django.db import connection

    from gridcare.core.rows import TableRef, column_of

    ref = TableRef(model)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]  # type: ignore[attr-defined]
    columns = ", ".join(getattr(ref, f.name) for f in fields)
    values = ", ".join(overrides.get(f.name, f't."{column_of(f)}"') for f in fields)
    pk = column_of(model._meta.pk)  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ref} ({columns}) SELECT {values} FROM {ref} t "
            f'CROSS JOIN generate_series(1, %s) g {join} WHERE t."{pk}" = %s',
            [*params, count, template_pk],
        )


def fill(accounts: int, months: int, month: str) -> None:
    import datetime as dt

    from django.db import connection, transaction

    from gridcare.core.rows import TableRef
    from gridcare.customers.models import Account, Customer
    from gridcare.ledger import settlement
    from gridcare.ledger.models import Allocation, Entry, Settlement
    from gridcare.org.models import OrgUnit, User

    have = Account.objects.filter(number__startswith="CB").count()
    if have >= accounts:
        return
    if have:
        raise SystemExit(
            f"The database holds {have:,} benchmark accounts, fewer than {accounts:,}: use a fresh one."
        )
    started = time.perf_counter()
    unit = OrgUnit.objects.get(code="CG")
    poster = User.objects.get(username="billing")
    with transaction.atomic():
        customer = Customer.objects.create(
            number="CBT0",
            kind="organisation",
            name="基准客户",
            id_type="credit_code",
            id_number="X",
            org_unit=unit,
        )
        account = Account.objects.create(number="CBT0", customer=customer, name="基准户", org_unit=unit)
        year, number = (int(x) for x in month.split("-"))
        charge = Entry.objects.create(
            account=account,
            kind="charge",
            amount=1,
            day=dt.date(year, number, 10),
            due_date=dt.date(year, number, 25),
            posted_by=poster,
        )
        payment = Entry.objects.create(
            account=account,
            kind="payment",
            amount=-1,
            day=dt.date(year, number, 25),
            due_date=dt.date(year, number, 25),
            posted_by=poster,
        )
        Allocation.objects.create(credit=payment, debit=charge, amount=1, cause=payment, account=account)
        c, a = TableRef(Customer), TableRef(Account)
        with connection.cursor() as cursor:
            # a bulk load: no foreign-key checks nor immutability guard (replica role), and the settlement
            # triggers (which fire always) off — the settlement is derived once at the end, as migration 0008 does
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the template rows' checks: none left pending
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_settlement")
            cursor.execute("ALTER TABLE ledger_allocation DISABLE TRIGGER ledger_allocation_settlement")
        clone(
            Customer,
            customer.pk,
            accounts,
            {"number": "'CB' || g", "name": "'基准客户' || g", "id_number": "'ID' || g"},
            [],
        )
        clone(
            Account,
            account.pk,
            accounts,
            {
                "number": "'CB' || g",
                "name": "'基准户' || g",
                "customer": f"cb.{c.id}",
            },
            [],
            join=f"JOIN {c} cb ON cb.{c.number} = 'CB' || g",
        )
        print(f"  customers and accounts: {time.perf_counter() - started:.0f} s", flush=True)
        e, al = TableRef(Entry), TableRef(Allocation)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE bench_acc AS SELECT {a.id} AS id FROM {a} "
                f"WHERE {a.number} LIKE 'CB%%' AND {a.number} <> 'CBT0'"
            )
            first = dt.date(year, number, 1)
            # charges: one a month, amount 100–100,000 元, due the 25th; the payment behaviour of each bill drawn
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_bill AS SELECT row_number() OVER () AS n, b.id AS account_id, m, "
                "round((100 + random() * 99900)::numeric, 2) AS amount, "
                "(date_trunc('month', %s::date) - make_interval(months => m) + interval '24 days')::date AS due, "
                "random() AS r, (1 + floor(random() * 60))::int AS late FROM bench_acc b, generate_series(0, %s - 1) m",
                [first, months],
            )
            print(f"  bills drawn: {time.perf_counter() - started:.0f} s", flush=True)
            # the entry ids are reserved as one block: charge n is base + n, its payment base + bills + n, so the
            # allocations need no join to find them
            cursor.execute("SELECT count(*) FROM bench_bill")
            bills = cursor.fetchone()[0]
            cursor.execute(f"SELECT pg_get_serial_sequence('{e}', 'id')")
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            base = cursor.fetchone()[0]
            cursor.execute("SELECT setval(%s, %s)", [sequence, base + 2 * bills + 1])
            cursor.execute(
                f"INSERT INTO {e} ({e.id}, {e.account}, {e.kind}, {e.amount}, {e.day}, {e.due_date}, {e.posted_at}, "
                f"{e.posted_by}, {e.note}) SELECT %s + n, account_id, 'charge', amount, due - 15, due, now(), %s, "
                f"'bench:' || m FROM bench_bill",
                [base, poster.pk],
            )
            print(f"  charges: {time.perf_counter() - started:.0f} s", flush=True)
            paid = "CASE WHEN r < 0.7 THEN due ELSE due + late END"
            cursor.execute(
                f"INSERT INTO {e} ({e.id}, {e.account}, {e.kind}, {e.amount}, {e.day}, {e.due_date}, {e.posted_at}, "
                f"{e.posted_by}, {e.note}) SELECT %s + n, account_id, 'payment', -amount, {paid}, {paid}, now(), "
                f"%s, 'bench:' || m FROM bench_bill WHERE r < 0.9",
                [base + bills, poster.pk],
            )
            print(f"  payments: {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute(
                f"INSERT INTO {al} ({al.credit}, {al.debit}, {al.amount}, {al.cause}, {al.account}) "
                f"SELECT %s + n, %s + n, amount, %s + n, account_id FROM bench_bill WHERE r < 0.9",
                [base + bills, base, base + bills],
            )
            print(f"  allocations: {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute("SET LOCAL session_replication_role = origin")
            cursor.execute("ALTER TABLE ledger_entry ENABLE ALWAYS TRIGGER ledger_entry_settlement")
            cursor.execute("ALTER TABLE ledger_allocation ENABLE ALWAYS TRIGGER ledger_allocation_settlement")
        rows = settlement.rebuild()
        print(f"  settlement ({rows:,} debits): {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        for table in (e, al, a, TableRef(Settlement)):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"filled {accounts:,} accounts × {months} months in {time.perf_counter() - started:.0f} s", flush=True
    )


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine, from /proc; None if not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run this against PostgreSQL: set DATABASE_URL to a dedicated database.")
    call_command("migrate", verbosity=0)
    from gridcare.keyaccounts.credit_actions import do_compute_credit_scores, do_load_credit_rule_defaults
    from gridcare.keyaccounts.models import CreditScore
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    if not OrgUnit.objects.filter(code="GC").exists():
        from gridcare.org import demo

        call_command("load_catalogue", verbosity=0)
        list(demo.build(system_actor(), "small"))
    do_load_credit_rule_defaults(system_actor())
    fill(args.accounts, args.months, args.month)
    from gridcare.customers.models import Account

    total = Account.objects.filter(status="active").count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    for _ in range(args.repeat):
        CreditScore.objects.filter(month=args.month).delete()
        load = os.getloadavg()
        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu(backend)
        summary = do_compute_credit_scores(system_actor(), month=args.month)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pg = backend_cpu(backend) - pg if pg is not None else None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        after = os.getloadavg()
        pg_text = (
            f"{pg:.1f} s CPU in PostgreSQL (its backend; no parallel workers)" if pg is not None else "?"
        )
        print(
            f"credit scores {args.month}: {summary['scored']:,} of {total:,} accounts in {wall:.1f} s wall "
            f"({summary['scored'] / wall:,.0f} rows/s), {cpu:.1f} s CPU in Python, {pg_text}, "
            f"peak RSS {peak:,.0f} MB (load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
            f"after {after[0]:.2f}); target ≤ 30 s"
        )
        print("  grades: " + ", ".join(f"{g} {n:,}" for g, n in summary["by_grade"].items()))


if __name__ == "__main__":
    main()
