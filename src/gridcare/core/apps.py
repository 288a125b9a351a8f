from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gridcare.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from gridcare.core import checks  # noqa: F401  (registers the database's deployment checks)
