"""Money in the Django layer: the engine's single rounding function, re-exported, plus formatting for 元."""

from __future__ import annotations

from decimal import Decimal

from gridcare.engine.money import round_yuan

__all__ = ["format_yuan", "round_yuan"]


def format_yuan(value: Decimal | int | str | None) -> str:
    """``1234.5`` → ``¥1,234.50`` — two decimals, thousands separators, as Chinese bills print it."""
    if value is None or value == "":
        return ""
    amount = round_yuan(Decimal(value))
    return f"¥{amount:,.2f}"
