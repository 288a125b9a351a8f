from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

SECTION = _("Key accounts & market")

ITEMS = [
    MenuItem(
        SECTION,
        _("Key-account portfolio"),
        "keyaccounts:account-list",
        "keyaccount.manage",
        icon="building",
        order=500,
    ),
    MenuItem(
        SECTION,
        _("Visit plan"),
        "keyaccounts:plan-list",
        "keyaccount.manage",
        icon="calendar-check",
        order=510,
    ),
    MenuItem(
        SECTION,
        _("Key-account visits"),
        "keyaccounts:visit-list",
        "keyaccount.manage",
        icon="people",
        order=520,
    ),
    MenuItem(
        SECTION,
        _("Prospects"),
        "keyaccounts:prospect-list",
        ("prospect.register", "prospect.view_all"),
        icon="briefcase",
        order=530,
    ),
    MenuItem(
        SECTION,
        _("Development pipeline"),
        "keyaccounts:pipeline",
        ("prospect.register", "prospect.view_all"),
        icon="funnel",
        order=540,
    ),
    MenuItem(
        SECTION,
        _("Registration collisions"),
        "keyaccounts:collision-list",
        "prospect.view_all",
        icon="sign-stop",
        order=550,
    ),
]
