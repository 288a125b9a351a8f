from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadingsConfig(AppConfig):
    name = "gridcare.readings"
    label = "readings"
    verbose_name = _("Meter reading")

    def ready(self) -> None:
        from gridcare.core.ownership import register_owned
        from gridcare.readings.models import Route
        from gridcare.readings.tasks import register_schedule

        # A reader's leave hands their routes (and with them the routes' open tasks) to the successor.
        register_owned(Route, "reader", label="route reader (抄表段抄表员)")
        register_schedule()  # the head-end settle sweep (Celery beat)
