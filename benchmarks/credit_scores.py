"""Benchmark: the monthly credit scores (信用评价) of 1,000,000 accounts on PostgreSQL — target ≤ 30 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare_bench_credit \\
        .venv/bin/python benchmarks/credit_scores.py [--accounts 1000000] [--months 12] [--month 2026-10]

Uses a dedicated database: migrated, the demo org and the shipped rules loaded, then — when it holds fewer
accounts — filled set-based in SQL (``INSERT … SELECT … generate_series``, cloning a template row so every column
gets a value): customers and accounts, ``--months`` monthly bill charges per account (due the 25th) and, for 90 %
of them, a payment settling the bill — 70 % on the due date, 20 % 1–60 days late — with its allocation; the other
10 % stay open. Then it times ``do_compute_credit_scores`` for the month (features from one ledger query, the
violation rebills, the engine, COPY of the score rows), deleting that month's scores first so every run scores
every account, and vacuums the table as a month's run finds it in service. Prints seconds, rows/s, peak memory
(RSS high-water mark of the process) and the grades.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")


def clone(model: type, template_pk: int, count: int, overrides: dict[str, str], params: list[Any]) -> None:
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
            f'CROSS JOIN generate_series(1, %s) g WHERE t."{pk}" = %s',
            [*params, count, template_pk],
        )


def fill(accounts: int, months: int, month: str) -> None:
    import datetime as dt

    from django.db import connection, transaction

    from gridcare.core.rows import TableRef
    from gridcare.customers.models import Account, Customer
    from gridcare.ledger.models import Allocation, Entry
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
        with connection.cursor() as cursor:
            # the rows below reference rows that exist by construction: skip the foreign-key checks, which
            # Django's deferred constraints would otherwise run one row at a time at COMMIT (~15 min at 1 M)
            cursor.execute("SET LOCAL session_replication_role = replica")
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
                "customer": f"(SELECT {c.id} FROM {c} WHERE {c.number} = 'CB' || g)",
            },
            [],
        )
        print(f"  customers and accounts: {time.perf_counter() - started:.0f} s", flush=True)
        e, al = TableRef(Entry), TableRef(Allocation)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE bench_acc AS SELECT {a.id} AS id FROM {a} WHERE {a.number} LIKE 'CB%%' AND {a.number} <> 'CBT0'"
            )
            cursor.execute("ALTER TABLE bench_acc ADD PRIMARY KEY (id)")
            first = dt.date(year, number, 1)
            # charges: one a month, amount 100–100,000 元, due the 25th; the payment behaviour of each bill drawn
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_bill AS SELECT b.id AS account_id, m, "
                "round((100 + random() * 99900)::numeric, 2) AS amount, "
                "(date_trunc('month', %s::date) - make_interval(months => m) + interval '24 days')::date AS due, "
                "random() AS r, (1 + floor(random() * 60))::int AS late FROM bench_acc b, generate_series(0, %s - 1) m",
                [first, months],
            )
            print(f"  bills drawn: {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute(
                f"INSERT INTO {e} ({e.account}, {e.kind}, {e.amount}, {e.day}, {e.due_date}, {e.posted_at}, {e.posted_by}, {e.note}) "
                f"SELECT account_id, 'charge', amount, due - 15, due, now(), %s, 'bench:' || m FROM bench_bill",
                [poster.pk],
            )
            print(f"  charges: {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute(
                f"INSERT INTO {e} ({e.account}, {e.kind}, {e.amount}, {e.day}, {e.due_date}, {e.posted_at}, {e.posted_by}, {e.note}) "
                f"SELECT account_id, 'payment', -amount, CASE WHEN r < 0.7 THEN due ELSE due + late END, "
                f"CASE WHEN r < 0.7 THEN due ELSE due + late END, now(), %s, 'bench:' || m FROM bench_bill WHERE r < 0.9",
                [poster.pk],
            )
            print(f"  payments: {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute(
                f"INSERT INTO {al} ({al.credit}, {al.debit}, {al.amount}, {al.cause}, {al.account}, {al.credit_day}) "
                f"SELECT p.{e.id}, d.{e.id}, d.{e.amount}, p.{e.id}, d.{e.account}, p.{e.day} FROM {e} d "
                f"JOIN {e} p ON p.{e.account} = d.{e.account} AND p.{e.note} = d.{e.note} AND p.{e.kind} = 'payment' "
                f"WHERE d.{e.kind} = 'charge' AND d.{e.note} LIKE 'bench:%%'"
            )
            print(f"  allocations: {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute(f"ANALYZE {e}")
            cursor.execute(f"ANALYZE {al}")
            cursor.execute(f"ANALYZE {a}")
    print(
        f"filled {accounts:,} accounts × {months} months in {time.perf_counter() - started:.0f} s", flush=True
    )


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
    from gridcare.core.rows import TableRef
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
    for _ in range(args.repeat):
        # the month's scores of an earlier run removed, then the table vacuumed — as a month's run finds it in
        # service (last month's run long vacuumed), not littered with a million dead rows just deleted
        s = TableRef(CreditScore)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {s} WHERE {s.month} = %s", [args.month])
            cursor.execute(f"VACUUM (ANALYZE) {s}")
        load = os.getloadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        summary = do_compute_credit_scores(system_actor(), month=args.month)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"credit scores {args.month}: {summary['scored']:,} of {total:,} accounts in {wall:.1f} s wall "
            f"({summary['scored'] / wall:,.0f} rows/s), {cpu:.1f} s CPU in Python, peak RSS {peak:,.0f} MB "
            f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}); target ≤ 30 s"
        )
        print("  grades: " + ", ".join(f"{g} {n:,}" for g, n in summary["by_grade"].items()))


if __name__ == "__main__":
    main()
