from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "gridcare.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from gridcare.core.ownership import register_owned
        from gridcare.customers.models import Account

        register_owned(Account, "account_manager", label="key account manager (客户经理)")
