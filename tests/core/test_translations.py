"""Translation catalogues are compiled before Django reads them (a fresh clone has no .mo files)."""

from __future__ import annotations

import os
from pathlib import Path

import polib
import pytest
from django.utils import translation

from gridcare.core.translations import compile_catalogues, package_locale_dirs


def test_the_test_run_compiles_catalogues_before_django_is_set_up(request: pytest.FixtureRequest) -> None:
    # the plugin is loaded from the command line (addopts), so its hook runs before pytest-django's set-up
    plugin = request.config.pluginmanager.get_plugin("gridcare.core.pytest_plugin")
    assert plugin is not None
    hook = plugin.pytest_load_initial_conftests
    assert getattr(hook, "pytest_impl", {}).get("tryfirst") is True
    # and what Django loaded is the compiled catalogue
    with translation.override("zh-hans"):
        assert translation.gettext("Core") == "核心"


def test_every_catalogue_of_the_package_is_found() -> None:
    found = {path.relative_to(path.parents[1]).as_posix() for path in package_locale_dirs()}
    assert {"gridcare/locale", "customers/locale", "service/locale"} <= found


def test_compile_writes_mo_files_and_skips_fresh_ones(tmp_path: Path) -> None:
    # given a catalogue without its .mo
    folder = tmp_path / "zh_Hans" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Meter", msgstr="电能表"))
    catalogue.save(str(folder / "django.po"))
    # when compiled
    assert compile_catalogues([tmp_path]) == 1
    mo = folder / "django.mo"
    assert [(e.msgid, e.msgstr) for e in polib.mofile(str(mo))] == [("Meter", "电能表")]
    # then a fresh .mo is left alone, and a .po edited afterwards is compiled again
    assert compile_catalogues([tmp_path], only_stale=True) == 0
    later = mo.stat().st_mtime + 10
    os.utime(folder / "django.po", (later, later))
    assert compile_catalogues([tmp_path], only_stale=True) == 1
