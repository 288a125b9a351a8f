"""A clock's warning and escalation are sent once: unique (clock, kind) on notices.

Two sweeps running at once used to send both twice; the second copies are removed before the constraint is
created (the earliest notice of each clock and kind is kept).
"""

from django.db import migrations, models
from django.db.models import Count, Min


def drop_duplicate_notices(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    notice = apps.get_model("service", "ServiceNotice")
    duplicated = (
        notice.objects.filter(clock__isnull=False)
        .values("clock", "kind")
        .annotate(n=Count("id"), first=Min("id"))
        .filter(n__gt=1)
    )
    for row in duplicated.iterator():
        notice.objects.filter(clock=row["clock"], kind=row["kind"]).exclude(id=row["first"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("service", "0004_compensation"),
    ]

    operations = [
        migrations.RunPython(drop_duplicate_notices, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="servicenotice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("clock__isnull", False)),
                fields=("clock", "kind"),
                name="uniq_notice_clock_kind",
            ),
        ),
    ]
