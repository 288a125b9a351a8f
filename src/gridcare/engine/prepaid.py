"""费控 (prepaid) estimate over arrays — no Django.

For every prepaid account at once: the charge of the energy used since the last bill
(``kWh × average price``, rounded half-up to the fen once), the remaining balance (剩余电费 = ledger credit −
that charge), the days it lasts at the recent daily use, and its status against the alert thresholds.

Scales (see :mod:`gridcare.engine.money`): money in fen (int64), energy in 0.001 kWh, prices in 1e-6 元/kWh, so
``kWh × price`` is an exact integer in 1e-9 元 and one division rounds it to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridcare.engine.money import div_round_half_up_array

OK, LOW, ZERO = 0, 1, 2
STATUS_CODES = ("ok", "low", "zero")
#: 0.001 kWh × 1e-6 元/kWh = 1e-9 元; to the fen (1e-2 元): ÷ 1e7
_TO_FEN = 10**7
#: days left are kept in tenths of a day
NO_DAYS = -1


@dataclass(frozen=True)
class Estimate:
    consumed_fen: np.ndarray
    remaining_fen: np.ndarray
    days_left_tenths: np.ndarray  # NO_DAYS where there is no daily use to divide by
    status: np.ndarray  # OK / LOW / ZERO


def estimate(
    credit_fen: np.ndarray,
    used_milli_kwh: np.ndarray,
    price_micro: np.ndarray,
    daily_milli_kwh: np.ndarray,
    *,
    low_fen: int,
    zero_fen: int,
    low_days: int,
) -> Estimate:
    """Remaining balance, days left and status of each account (arrays of one length).

    ``status`` is ZERO at or below ``zero_fen``, LOW below ``low_fen`` or when fewer than ``low_days`` days are
    left, else OK. Days left: remaining ÷ (daily kWh × price), rounded half-up to a tenth; 0 when nothing is
    left; :data:`NO_DAYS` without daily use.
    """
    credit = np.asarray(credit_fen, dtype=np.int64)
    used = np.asarray(used_milli_kwh, dtype=np.int64)
    price = np.asarray(price_micro, dtype=np.int64)
    daily = np.asarray(daily_milli_kwh, dtype=np.int64)
    consumed = div_round_half_up_array(used * price, _TO_FEN)
    remaining = credit - consumed
    daily_cost_nano = daily * price  # 1e-9 元 a day
    positive = (daily_cost_nano > 0) & (remaining > 0)
    # remaining fen × 1e7 = remaining in 1e-9 元; × 10 for tenths of a day
    num = np.where(positive, remaining * (_TO_FEN * 10), 0)
    den = np.where(positive, daily_cost_nano, 1)
    days = np.where(positive, div_round_half_up_array(num, den), np.where(remaining <= 0, 0, NO_DAYS))
    status = np.full(credit.shape, OK, dtype=np.int8)
    low = (remaining < low_fen) | ((days != NO_DAYS) & (days < low_days * 10))
    status[low] = LOW
    status[remaining <= zero_fen] = ZERO
    return Estimate(consumed, remaining, days.astype(np.int64), status)
