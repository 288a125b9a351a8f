"""The service desk's default SLA policies and dispatch rules (``data/service_defaults.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULTS_PATH = Path(__file__).resolve().parent / "data" / "service_defaults.yaml"


def read_defaults(path: Path = DEFAULTS_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_defaults(actor: Any = None) -> dict[str, int]:
    """Load the defaults file as ``actor`` (default: the system account)."""
    from gridcare.org.selectors import system_actor
    from gridcare.service.actions import do_load_defaults

    return do_load_defaults(actor or system_actor(), read_defaults())
