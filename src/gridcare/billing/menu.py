from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(
        _("Billing"), _("Billing runs"), "billing:run-list", "billing.view", icon="calculator", order=300
    ),
    MenuItem(_("Billing"), _("Bills"), "billing:bill-list", "billing.view", icon="receipt", order=310),
    MenuItem(
        _("Billing"), _("Bill review"), "billing:review", "billing.view", icon="clipboard-check", order=320
    ),
    MenuItem(
        _("Billing"), _("Rebills"), "billing:rebill-list", "billing.view", icon="arrow-left-right", order=330
    ),
    MenuItem(
        _("Billing"),
        _("Billing reports"),
        "billing:reports",
        "billing.view",
        icon="file-earmark-spreadsheet",
        order=340,
    ),
    MenuItem(
        _("Billing"),
        _("Plausibility rules"),
        "billing:rules",
        "billing.view",
        icon="sliders",
        order=350,
    ),
    MenuItem(
        _("Billing"),
        _("Sales plan"),
        "billing:sales-plan",
        "sales_plan.set",
        icon="bullseye",
        order=360,
    ),
]
