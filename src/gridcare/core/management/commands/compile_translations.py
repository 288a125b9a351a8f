"""Compile the .po catalogues to .mo with polib, so no system gettext is needed at setup.

Catalogues live in ``settings.LOCALE_PATHS`` and in each gridcare app's own ``locale/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from gridcare.core.translations import compile_catalogues


class Command(BaseCommand):
    help = "Compile gridcare's translation catalogues (.po → .mo)."

    def handle(self, *args: object, **options: object) -> None:
        bases = [Path(p) for p in settings.LOCALE_PATHS]
        bases += [Path(c.path) / "locale" for c in apps.get_app_configs() if c.name.startswith("gridcare.")]
        count = compile_catalogues(bases)
        if int(str(options.get("verbosity", 1))) > 0:
            self.stdout.write(f"compiled {count} catalogue(s)")
