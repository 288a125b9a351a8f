from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

SECTION = _("Key accounts & market")

ITEMS = [
    MenuItem(
        SECTION,
        _("Market research reports"),
        "market:report-list",
        ("research.view", "research.write"),
        icon="journal-text",
        order=560,
    ),
    MenuItem(
        SECTION,
        _("Satisfaction surveys"),
        "market:survey-list",
        ("survey.manage", "survey.interview"),
        icon="clipboard-check",
        order=570,
    ),
    MenuItem(
        SECTION,
        _("Contractor register"),
        "market:contractor-list",
        ("contractor.view", "contractor.manage"),
        icon="patch-check",
        order=580,
    ),
]
