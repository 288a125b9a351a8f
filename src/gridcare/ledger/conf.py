"""Settings of the ledger, overridable in Django settings (``GRIDCARE_LEDGER = {...}``) or by environment
variables ``GRIDCARE_LEDGER_<NAME>`` (the pattern of :mod:`gridcare.billing.conf`)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # the order a payment settles open debts in (RULES §1): late fees first, then the oldest bill first
    "ALLOCATION_ORDER": ["late_fee", "oldest_bill"],
    # the only currency the ledger takes
    "CURRENCY": "CNY",
    # the largest single payment (元); above it the payment is refused as an input error
    "MAX_PAYMENT": "100000000.00",
    # receipt numbers (收费凭证): prefix + business date (YYYYMMDD) + this many digits
    "RECEIPT_PREFIX": "SF",
    "RECEIPT_WIDTH": 8,
    # the TrueType font embedded in receipts (a subset of it); without it the PDF uses a standard CID font
    "RECEIPT_FONT": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    # a reconciliation file holds at most this many rows
    "MAX_FILE_ROWS": 2000000,
    # where messages to customers (reminders, balance alerts) go: a class with ``send(Message) -> Outcome``
    "MESSAGE_SENDER": "gridcare.ledger.outbound.LoggingSender",
    # the head-end client for remote disconnection/reconnection: a class with ``send(SwitchCommand) -> Outcome``
    "REMOTE_SWITCH": "gridcare.ledger.outbound.LoggingSwitch",
    # 费控 (prepaid): a balance alert below this remaining balance (元) …
    "PREPAID_ALERT_LOW": "50.00",
    # … and when it reaches this one (元): the zero alert and the remote disconnection
    "PREPAID_ALERT_ZERO": "0.00",
    # a low-balance alert also when the balance lasts fewer days than this at the recent daily use
    "PREPAID_ALERT_DAYS": 3,
    # no remote disconnection from this local hour until PREPAID_DAY_STARTS (night), nor on non-working days
    "PREPAID_NIGHT_STARTS": 17,
    "PREPAID_DAY_STARTS": 8,
    # the average price (元/kWh) of an account with no bill yet (else: its last bill's total ÷ its kWh)
    "PREPAID_DEFAULT_PRICE": "0.60",
    # the days of interval data the daily use (days left) is averaged over
    "PREPAID_USE_DAYS": 7,
    # accounts estimated per chunk of the daily job
    "PREPAID_CHUNK": 5000,
    # 账龄 (arrears aging): the upper bounds of the buckets in days overdue (the last bucket is open-ended)
    "AGING_BUCKETS": [30, 90, 180, 365],
    # 坏账: open arrears more days overdue than this count as bad debt (besides write-offs)
    "BAD_DEBT_DAYS": 365,
}


def conf(name: str) -> Any:
    """The setting ``name``: Django settings first, then the environment, then the default."""
    configured = getattr(settings, "GRIDCARE_LEDGER", {}) or {}
    if name in configured:
        return configured[name]
    env = os.environ.get(f"GRIDCARE_LEDGER_{name}")
    default = DEFAULTS[name]
    if env is not None:
        return json.loads(env) if isinstance(default, (dict, list)) else type(default)(env)
    return default


def max_payment() -> Decimal:
    return Decimal(str(conf("MAX_PAYMENT")))
