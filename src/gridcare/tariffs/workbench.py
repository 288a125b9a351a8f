"""Tariff audit actions in words, for the workbench's recent actions."""

from django.utils.translation import gettext_lazy as _

VERBS = {
    "tariffs.import_tariff": _("Imported tariff"),
    "tariffs.add_version": _("Added a version of tariff"),
    "tariffs.import_urdb": _("Imported tariffs from URDB"),
    "tariffs.close_version": _("Closed the current version of tariff"),
}
