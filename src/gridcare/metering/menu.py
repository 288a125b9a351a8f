from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(_("Metering"), _("Meters"), "metering:meter-list", "meter.view", icon="speedometer", order=200),
    MenuItem(
        _("Metering"), _("Installations"), "metering:installation-list", "meter.view", icon="tools", order=210
    ),
    MenuItem(
        _("Metering"),
        _("Verification & rotation plan"),
        "metering:plan",
        "meter.view",
        icon="calendar-check",
        order=220,
    ),
    MenuItem(
        _("Metering"),
        _("Overdue tests and rotations"),
        "metering:overdue",
        "meter.view",
        icon="exclamation-triangle",
        order=230,
    ),
]
