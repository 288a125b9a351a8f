"""Customer and account numbers from database sequences; one customer per ID document.

The sequences start at 1: the first number drawn that is already taken makes the counter jump past the highest
existing number (gridcare.core.numbering.next_number). Customers registered twice with one ID document (the
old registration allowed it) must be merged before this migration; it names them.
"""

from django.db import migrations, models
from django.db.models import Count

from gridcare.core.numbering import create_sequence


def refuse_duplicates(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    customer = apps.get_model("customers", "Customer")
    duplicated = list(
        customer.objects.values("id_type", "id_number").annotate(n=Count("id")).filter(n__gt=1)[:20]
    )
    if duplicated:
        listed = "; ".join(
            f"{row['id_type']} {row['id_number'][:4]}…: "
            + ", ".join(
                customer.objects.filter(id_type=row["id_type"], id_number=row["id_number"]).values_list(
                    "number", flat=True
                )
            )
            for row in duplicated
        )
        raise RuntimeError(
            f"同一证件号码登记了多个客户，请先合并：{listed} "
            "(Customers share an ID document; merge them before migrating.)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_lean_indexes"),
        ("core", "0005_number_counter"),
        ("org", "0002_position_permissions_version"),
    ]

    operations = [
        create_sequence("customers_customer_number_seq"),
        create_sequence("customers_account_number_seq"),
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("id_type", "id_number"), name="uniq_customer_id_document"
            ),
        ),
        migrations.RemoveIndex(
            model_name="customer",
            name="customers_c_id_type_570d0e_idx",
        ),
    ]
