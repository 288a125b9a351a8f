"""Per-debit settlement (结清记录): the table, filled from the existing allocations, and the triggers that keep it
in the statement inserting an entry or an allocation (see :mod:`gridcare.ledger.settlement`)."""

import django.db.models.deletion
from django.db import migrations, models

from gridcare.ledger import settlement


def forward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    settlement.fill(schema_editor)


def backward(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    settlement.drop(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_numbers_from_sequences_one_customer_per_id"),
        ("ledger", "0007_prepaid"),
    ]

    operations = [
        migrations.CreateModel(
            name="Settlement",
            fields=[
                (
                    "debit",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="settlement",
                        serialize=False,
                        to="ledger.entry",
                        verbose_name="debit entry",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("charge", "Bill charge"),
                            ("correction", "Correcting bill"),
                            ("payment", "Payment"),
                            ("late_fee", "Late fee"),
                            ("waiver", "Waiver"),
                            ("reversal", "Reversal"),
                            ("refund", "Refund"),
                            ("write_off", "Write-off"),
                            ("prepayment", "Prepayment"),
                        ],
                        max_length=12,
                        verbose_name="entry type",
                    ),
                ),
                ("due_date", models.DateField(verbose_name="due date")),
                ("amount", models.BigIntegerField(verbose_name="amount (fen)")),
                ("settled", models.BigIntegerField(default=0, verbose_name="settled (fen)")),
                ("on_time", models.BigIntegerField(default=0, verbose_name="settled by the due date (fen)")),
                ("first_day", models.DateField(blank=True, null=True, verbose_name="first settling day")),
                (
                    "last_day",
                    models.DateField(blank=True, db_index=True, null=True, verbose_name="last settling day"),
                ),
                ("settled_on", models.DateField(blank=True, null=True, verbose_name="settled in full on")),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="customers.account",
                        verbose_name="account",
                    ),
                ),
            ],
            options={
                "verbose_name": "settlement",
                "verbose_name_plural": "settlements",
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
