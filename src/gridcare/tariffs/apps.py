from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TariffsConfig(AppConfig):
    name = "gridcare.tariffs"
    label = "tariffs"
    verbose_name = _("Tariffs")
