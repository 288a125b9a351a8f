"""Core audit actions in words, for the workbench's recent actions."""

from django.utils.translation import gettext_lazy as _

VERBS = {
    "core.set_calendar_override": _("Set the working-day calendar for"),
    "core.delete_calendar_override": _("Removed the calendar entry for"),
}
