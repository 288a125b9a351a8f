"""Column checks of the engine's columnar inputs (VEE batches, interval batches): one bilingual message.

Why: a batch with a misspelt or missing column must be refused whole, before anything is computed or
written, with a message naming every unknown and every missing column — the same words wherever the
engine takes a frame.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

__all__ = ["column_problem"]


def column_problem(present: Iterable[str], allowed: Collection[str], required: Iterable[str]) -> str | None:
    """``"未知列 (unknown columns): x; 缺少列 (missing columns): y"`` or ``None`` when the columns are acceptable."""
    names = list(present)
    unknown = sorted(set(names) - set(allowed))
    missing = [name for name in required if name not in names]
    parts = ([f"未知列 (unknown columns): {', '.join(unknown)}"] if unknown else []) + (
        [f"缺少列 (missing columns): {', '.join(missing)}"] if missing else []
    )
    return "; ".join(parts) or None
