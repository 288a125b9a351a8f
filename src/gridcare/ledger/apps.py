from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "gridcare.ledger"
    label = "ledger"
    verbose_name = _("Ledger and payments")

    def ready(self) -> None:
        from gridcare.ledger.tasks import register_schedule

        register_schedule()  # the month-end late-fee job (Celery beat)
