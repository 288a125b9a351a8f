from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "gridcare.market"
    label = "market"
    verbose_name = _("Market research, surveys & contractors")
