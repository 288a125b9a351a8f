"""The idempotency record's user loses its own index: the unique (user, key) serves it. Dropped by name, not by
``AlterField`` (SQLite would rebuild the table for it)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "core_idempotencyrecord_user_id_a82d8527"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_internal_models_verbose_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON core_idempotencyrecord (user_id)",
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        )
    ]
