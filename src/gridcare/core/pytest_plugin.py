"""pytest plugin (``-p gridcare.core.pytest_plugin`` in pyproject's addopts): test-run set-up that must happen
before pytest-django sets Django up.

Conftest files are loaded only after pytest-django has called ``django.setup()``, and Django has read the
translation catalogues by then (its own model loading translates): a catalogue compiled in a conftest hook is
never seen, so on a fresh clone every translated string stayed English. This hook runs first.
"""

from __future__ import annotations

import pytest

from gridcare.core.translations import compile_catalogues


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    compile_catalogues(only_stale=True)
