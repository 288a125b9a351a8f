"""Compiling gridcare's translation catalogues (.po → .mo) with polib: no system gettext, and no Django.

Django reads the catalogues once per process, the first time anything is translated — and Django's own model
loading already translates, inside ``django.setup()``. So the ``.mo`` files must exist *before* Django is set
up: ``gridcare compile_translations`` (run by ``make setup``) and the test runner's plugin
(:mod:`gridcare.core.pytest_plugin`) both call :func:`compile_catalogues` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polib

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def package_locale_dirs() -> list[Path]:
    """Every ``locale/`` folder inside the gridcare package (the project's and each app's)."""
    return sorted(path for path in PACKAGE_DIR.rglob("locale") if path.is_dir())


def compile_catalogues(bases: Iterable[Path] | None = None, *, only_stale: bool = False) -> int:
    """Compile each ``<base>/<lang>/LC_MESSAGES/*.po`` next to itself; answer how many were written.

    ``only_stale`` skips a catalogue whose ``.mo`` is newer than its ``.po``.
    """
    count = 0
    for base in package_locale_dirs() if bases is None else bases:
        for po_path in sorted(Path(base).glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if only_stale and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            count += 1
    return count
