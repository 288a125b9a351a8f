"""The readings app's part of ``gridcare load_defaults``: the engine's VEE rules as editable settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def load(actor: Any) -> Iterator[str]:
    from gridcare.readings.actions import do_load_vee_defaults

    created = do_load_vee_defaults(actor)
    yield f"抄表校核规则 (VEE rules): 新增 {created} 条 (created {created})"
