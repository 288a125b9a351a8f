"""The work-order counter row (databases without sequences) moves to the one numbering mechanism in core."""

from django.db import migrations


def copy_counters(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    old = apps.get_model("service", "NumberCounter")
    new = apps.get_model("core", "NumberCounter")
    for row in old.objects.all():
        new.objects.update_or_create(name=row.name, defaults={"value": row.value})


def copy_back(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    old = apps.get_model("service", "NumberCounter")
    new = apps.get_model("core", "NumberCounter")
    for row in new.objects.filter(name="workorder"):
        old.objects.update_or_create(name=row.name, defaults={"value": row.value})


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_number_counter"),
        ("service", "0005_notice_once_per_clock_and_kind"),
    ]

    operations = [
        migrations.RunPython(copy_counters, copy_back),
        migrations.DeleteModel(name="NumberCounter"),
    ]
