"""The service desk's default SLA policies and dispatch rules (``data/service_defaults.yaml``)."""

from __future__ import annotations

from collections.abc import Iterator
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


def load(actor: Any) -> Iterator[str]:
    """The service desk's part of ``gridcare load_defaults``. A dispatch rule naming a unit the organisation does
    not have is skipped: run ``load_defaults`` again after loading the org tree (``gridcare import_org``)."""
    counts = load_defaults(actor)
    yield (
        f"服务时限与派单规则 (service defaults): {counts['sla_policies']} 条时限 (SLA policies), "
        f"{counts['dispatch_rules']} 条派单规则 (dispatch rules)"
    )
