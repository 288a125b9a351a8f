"""A month's credit scores written leaner — a million rows a run:

- the figures and points as JSON text (:class:`~gridcare.core.fields.NumberListField`), not ``jsonb``;
- the account found through the (account, month) unique index, without an index of its own;
- the rules version without a database constraint checked on each row, and without an index: instead a version
  can never change or go — PostgreSQL row triggers refuse UPDATE and DELETE of the rule sets (TRUNCATE, a test
  database's flush, is not a row event); SQLite refuses UPDATE, and DELETE is refused by the model, because
  SQLite's flush of a test database is a ``DELETE FROM`` each table (as ledger 0002).
"""

import django.db.models.deletion
from django.db import migrations, models

import gridcare.core.fields
from gridcare.core.schema import sql_by_vendor

TABLE = "keyaccounts_creditruleset"
MESSAGE = "信用评价规则的版本不可修改或删除 (a rules version is never changed or deleted)"

PG_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION keyaccounts_rules_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS {TABLE}_immutable ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION keyaccounts_rules_guard()""",
]
PG_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {TABLE}_immutable ON {TABLE}",
    "DROP FUNCTION IF EXISTS keyaccounts_rules_guard()",
]
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_immutable BEFORE UPDATE ON {TABLE}
FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END"""
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {TABLE}_immutable"]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_numbers_from_sequences_one_customer_per_id"),
        ("keyaccounts", "0002_credit_budget"),
    ]

    operations = [
        sql_by_vendor(
            {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD},
        ),
        migrations.AlterField(
            model_name="creditscore",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credit_scores",
                to="customers.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="creditscore",
            name="deductions",
            field=gridcare.core.fields.NumberListField(default=list, verbose_name="points taken off"),
        ),
        migrations.AlterField(
            model_name="creditscore",
            name="features",
            field=gridcare.core.fields.NumberListField(default=list, verbose_name="figures"),
        ),
        migrations.AlterField(
            model_name="creditscore",
            name="rule_set",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="keyaccounts.creditruleset",
                verbose_name="rules version",
            ),
        ),
    ]
