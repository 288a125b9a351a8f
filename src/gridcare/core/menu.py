from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(_("System"), _("Audit log"), "core:audit-log", "audit.view", icon="journal-text", order=950),
    MenuItem(_("System"), _("Business calendar"), "core:calendar", None, icon="calendar3", order=960),
]
