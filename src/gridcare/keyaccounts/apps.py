from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KeyAccountsConfig(AppConfig):
    name = "gridcare.keyaccounts"
    label = "keyaccounts"
    verbose_name = _("Key accounts & market")

    def ready(self) -> None:
        from gridcare.core.ownership import register_owned
        from gridcare.keyaccounts.models import OpenVisitPlanItem, Prospect
        from gridcare.keyaccounts.tasks import register_schedule

        # A leaver's prospects and planned visits move to the successor (孤儿客户转接); the key accounts
        # themselves move with the accounts' manager (customers registers Account.account_manager).
        register_owned(Prospect, "owner", label="prospect owner (备案人)")
        register_owned(OpenVisitPlanItem, "manager", label="planned key-account visit (回访计划)")
        register_schedule()  # the registration expiry job (Celery beat)
