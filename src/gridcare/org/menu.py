from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(_("Organisation"), _("Org units"), "org:unit-list", "org.view", icon="diagram-3", order=900),
    MenuItem(
        _("Organisation"), _("Positions"), "org:position-list", "org.view", icon="person-badge", order=910
    ),
    MenuItem(_("Organisation"), _("Staff"), "org:staff-list", "org.view", icon="people", order=920),
    MenuItem(
        _("Organisation"),
        _("Position changes (four-eyes)"),
        "org:position-change-list",
        "org.manage_positions",
        icon="shield-check",
        order=915,
    ),
    MenuItem(
        _("Organisation"), _("Login log"), "org:login-log", "security.view_logins", icon="key", order=930
    ),
]
