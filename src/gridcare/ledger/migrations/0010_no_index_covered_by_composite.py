"""The entry's account and the payment's cashier lose their own index: the composite indexes (account, kind) and
(cashier, day) serve them. The index is dropped by name, not by ``AlterField``: SQLite would rebuild the tables
for it and lose their immutability triggers."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DROPPED = [  # (index, table, column)
    ("ledger_entry_account_id_e9f5e345", "ledger_entry", "account_id"),
    ("ledger_payment_cashier_id_f8f221fb", "ledger_payment", "cashier_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_numbers_from_sequences_one_customer_per_id"),
        ("ledger", "0009_references_guarded"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {index}", f"CREATE INDEX {index} ON {table} ({column})"
                )
                for index, table, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="entry",
                    name="account",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="customers.account",
                        verbose_name="account",
                    ),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="cashier",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="received by",
                    ),
                ),
            ],
        )
    ]
