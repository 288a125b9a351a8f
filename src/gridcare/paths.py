"""Where gridcare keeps its files, whatever directory it is started from.

- ``GRIDCARE_VAR_DIR`` (database file of the demo, collected static files, reports, import error sheets) defaults
  to ``var/`` of the project checkout when gridcare runs from a checkout (``pip install -e .``, ``make demo``),
  and to ``$XDG_DATA_HOME/gridcare`` (``~/.local/share/gridcare``) when it is installed as a package.
- ``GRIDCARE_NODE_MODULES`` (the front-end libraries installed by ``npm ci``) defaults to ``node_modules/`` of the
  checkout, or ``node_modules/`` under the var directory when installed.

Nothing here depends on the current directory. Pure Python: the settings import it before Django is set up.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_dir() -> Path | None:
    """The project checkout this package runs from (``src/gridcare`` inside it), or ``None`` when installed."""
    root = PACKAGE_DIR.parent.parent
    if (root / "pyproject.toml").is_file() and (root / "src" / "gridcare").is_dir():
        return root
    return None


def default_var_dir() -> Path:
    root = checkout_dir()
    if root is not None:
        return root / "var"
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "gridcare"


def var_dir() -> Path:
    configured = os.environ.get("GRIDCARE_VAR_DIR")
    return Path(configured).expanduser().resolve() if configured else default_var_dir().resolve()


def node_modules_dir(var: Path) -> Path:
    configured = os.environ.get("GRIDCARE_NODE_MODULES")
    if configured:
        return Path(configured).expanduser().resolve()
    root = checkout_dir()
    return (root if root is not None else var) / "node_modules"
