"""Reading tasks updated in place: the route/period index without ``status``, and pages kept 10 % free.

The period VEE moves the status of thousands of tasks at once. With ``status`` in an index every such update
wrote a new index entry in every index of the table (and a full page image of each touched index page after a
checkpoint: 432 MB of WAL for 17,461 tasks); without it, and with room left on the page (fillfactor 90 — only
new or rewritten pages get it), PostgreSQL updates the row on its own page (a heap-only tuple). The reads the
task lists filter on are still found by route and period (at most a route's stops per period)."""

from typing import Any

from django.db import migrations, models

FILLFACTOR = 90


def fillfactor(percent: int) -> Any:
    def apply(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("readings", "ReadingTask")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(percent)})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("readings", "0004_headend_receipt")]

    operations = [
        migrations.RemoveIndex(model_name="readingtask", name="task_route_period_status"),
        migrations.AddIndex(
            model_name="readingtask",
            index=models.Index(fields=["route", "period"], name="task_route_period"),
        ),
        migrations.RunPython(fillfactor(FILLFACTOR), fillfactor(100)),
    ]
