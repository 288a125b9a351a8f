"""Compile the .po catalogues to .mo with polib, so no system gettext is needed at setup."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile gridcare's translation catalogues (.po → .mo)."

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        for base in settings.LOCALE_PATHS:
            for po_path in Path(base).glob("*/LC_MESSAGES/*.po"):
                polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
                count += 1
        if int(options.get("verbosity", 1)) > 0:
            self.stdout.write(f"compiled {count} catalogue(s)")
