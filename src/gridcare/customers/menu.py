from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(
        _("Customers"), _("Customer search"), "customers:search", "customer.view", icon="search", order=100
    ),
    MenuItem(
        _("Customers"), _("Customers"), "customers:customer-list", "customer.view", icon="people", order=110
    ),
    MenuItem(
        _("Customers"), _("Accounts"), "customers:account-list", "customer.view", icon="card-list", order=120
    ),
    MenuItem(
        _("Customers"),
        _("Service points"),
        "customers:servicepoint-list",
        "customer.view",
        icon="geo-alt",
        order=130,
    ),
    MenuItem(
        _("Customers"),
        _("Supply contracts"),
        "customers:contract-list",
        "customer.view",
        icon="file-text",
        order=140,
    ),
    MenuItem(
        _("Customers"),
        _("Contracts expiring soon"),
        "customers:contract-expiring",
        "customer.view",
        icon="alarm",
        order=150,
    ),
    MenuItem(
        _("Customers"),
        _("Import from Excel"),
        "customers:import",
        "customer.manage",
        icon="upload",
        order=160,
    ),
]
