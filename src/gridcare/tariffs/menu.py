from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(
        _("Tariffs & billing"),
        _("Tariff catalogue"),
        "tariffs:tariff-list",
        "tariff.view",
        icon="cash-coin",
        order=400,
    ),
]
