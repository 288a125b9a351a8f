from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(
        _("Meter reading"),
        _("Reading routes"),
        "readings:route-list",
        "reading.view",
        icon="signpost",
        order=250,
    ),
    MenuItem(
        _("Meter reading"),
        _("Reading tasks"),
        "readings:task-list",
        "reading.view",
        icon="list-check",
        order=260,
    ),
    MenuItem(
        _("Meter reading"),
        _("Reading exceptions"),
        "readings:exception-list",
        "reading.view",
        icon="exclamation-diamond",
        order=270,
    ),
    MenuItem(
        _("Meter reading"),
        _("Validation rules"),
        "readings:rule-list",
        "reading.view",
        icon="sliders",
        order=280,
    ),
]
