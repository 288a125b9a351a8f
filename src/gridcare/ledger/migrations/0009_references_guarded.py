"""The ledger's references to accounts, users, channels, payments and entries lose their per-row check (half of
a million payments' posting); the rows they point at are kept instead.

Payments and entries are never deleted (ledger 0002). On PostgreSQL an account, a user or a channel named by a
ledger row cannot be deleted (nor its id changed): a BEFORE DELETE trigger looks for the naming rows through the
columns' indexes and refuses with ``foreign_key_violation`` — the error the constraint gave. On SQLite the models'
``PROTECT`` refuses (its flush of a test database is a ``DELETE FROM`` each table, as in ledger 0002); SQLite's
rebuild of the three immutable tables drops their UPDATE triggers, made again here."""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from gridcare.core.schema import sql_by_vendor

IMMUTABLE = importlib.import_module("gridcare.ledger.migrations.0002_immutable")
REBUILT = ["ledger_payment", "ledger_entry", "ledger_allocation"]
MESSAGE = "仍有账务记录引用该记录，不能删除 (ledger records still name this row: it cannot be deleted)"
#: referenced table → the ledger's columns naming it
NAMED_BY = {
    "customers_account": [
        "ledger_payment.account_id",
        "ledger_entry.account_id",
        "ledger_allocation.account_id",
    ],
    "org_user": [
        "ledger_payment.cashier_id",
        "ledger_entry.posted_by_id",
        "ledger_difference.resolved_by_id",
    ],
    "ledger_channel": ["ledger_payment.channel_id"],
}

PG_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION ledger_named_row_guard() RETURNS trigger AS $$
DECLARE
    ref text;
    named boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    FOREACH ref IN ARRAY TG_ARGV LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', split_part(ref, '.', 1),
                       split_part(ref, '.', 2)) INTO named USING OLD.id;
        IF named THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'foreign_key_violation', DETAIL = ref;
        END IF;
    END LOOP;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql""",
    *[
        sql
        for table, refs in NAMED_BY.items()
        for sql in (
            f"DROP TRIGGER IF EXISTS {table}_ledger_named ON {table}",
            f"CREATE TRIGGER {table}_ledger_named BEFORE DELETE OR UPDATE OF id ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION ledger_named_row_guard({', '.join(repr(ref) for ref in refs)})",
        )
    ],
]
PG_BACKWARD = [
    *[f"DROP TRIGGER IF EXISTS {table}_ledger_named ON {table}" for table in NAMED_BY],
    "DROP FUNCTION IF EXISTS ledger_named_row_guard()",
]
SQLITE_FORWARD = [sql for sql in IMMUTABLE.SQLITE_FORWARD if any(f"ON {t}\n" in sql for t in REBUILT)]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_numbers_from_sequences_one_customer_per_id"),
        ("ledger", "0008_allocation_credit_day"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # (unapplied: after the fields get their constraints back, SQLite's rebuilt tables need their triggers)
        sql_by_vendor({}, {"sqlite": SQLITE_FORWARD}),
        migrations.AlterField(
            model_name="allocation",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="customers.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="allocation",
            name="cause",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.entry",
                verbose_name="posted with",
            ),
        ),
        migrations.AlterField(
            model_name="allocation",
            name="credit",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="allocations_out",
                to="ledger.entry",
                verbose_name="credit entry",
            ),
        ),
        migrations.AlterField(
            model_name="allocation",
            name="debit",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="allocations_in",
                to="ledger.entry",
                verbose_name="debit entry",
            ),
        ),
        migrations.AlterField(
            model_name="difference",
            name="payment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.payment",
                verbose_name="payment",
            ),
        ),
        migrations.AlterField(
            model_name="difference",
            name="resolved_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="resolved by",
            ),
        ),
        migrations.AlterField(
            model_name="entry",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_entries",
                to="customers.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="entry",
            name="payment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="ledger.payment",
                verbose_name="payment",
            ),
        ),
        migrations.AlterField(
            model_name="entry",
            name="posted_by",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="posted by",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="customers.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="cashier",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="received by",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="channel",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="ledger.channel",
                verbose_name="collection channel",
            ),
        ),
        sql_by_vendor(
            {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": PG_BACKWARD},
        ),
    ]
