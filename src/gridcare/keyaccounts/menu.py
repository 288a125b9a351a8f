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
    MenuItem(
        SECTION,
        _("Credit scores"),
        "keyaccounts:credit-list",
        ("keyaccount.manage", "credit.adjust", "credit.manage_rules"),
        icon="speedometer2",
        order=560,
    ),
    MenuItem(
        SECTION,
        _("Credit-score adjustments"),
        "keyaccounts:credit-adjustments",
        ("keyaccount.manage", "credit.adjust", "credit.manage_rules"),
        icon="sliders",
        order=565,
    ),
    MenuItem(
        SECTION,
        _("Credit-score rules"),
        "keyaccounts:credit-rules",
        "credit.manage_rules",
        icon="list-check",
        order=568,
    ),
    MenuItem(
        SECTION,
        _("Sales expense budget"),
        "keyaccounts:budget-list",
        ("budget.approve", "expense.record"),
        icon="piggy-bank",
        order=570,
    ),
    MenuItem(
        SECTION,
        _("Sales expenses"),
        "keyaccounts:expense-list",
        ("budget.approve", "expense.record"),
        icon="receipt",
        order=575,
    ),
]
