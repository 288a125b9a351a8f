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
    # a large batch (a reconciled file's missing payments) is posted in chunks of about this many payments, each
    # chunk its own transaction (an account's payments all in one chunk), on this many database connections at
    # once (PostgreSQL; 1 = one after the other)
    "BULK_POST_CHUNK": 100000,
    "BULK_POST_WORKERS": 2,
    # the channel API's group commit: at most this many posts of one channel taken in one transaction (the posts
    # that arrive while a group is being taken form the next one; gridcare.core.gather)
    "CHANNEL_GROUP_LIMIT": 200,
    # … and from this many posts on set-based (fewer are taken one by one in the group's transaction)
    "CHANNEL_GROUP_MIN": 3,
    # … and (the machine API's lane) fewer posts than this wait up to this many milliseconds for more: a group's
    # fixed cost shared by more posts
    "CHANNEL_GROUP_GATHER": 8,
    "CHANNEL_GROUP_WAIT_MS": 5,
    # where messages to customers (reminders, balance alerts) go: a class with ``send(Message) -> Outcome``
    "MESSAGE_SENDER": "gridcare.ledger.outbound.LoggingSender",
    # the head-end client for remote disconnection/reconnection: a class with ``send(SwitchCommand) -> Outcome``
    "REMOTE_SWITCH": "gridcare.ledger.outbound.LoggingSwitch",
    # when late fees (电费违约金) are posted (RULES §1 "posted when paid or at month end"): "payment" (inside the
    # payment action, before allocation), "month_end" (the job ``gridcare ledger post-late-fees``) or "both"
    "LATE_FEE_POSTING": "both",
    # the late-fee rule (RULES §1): daily rates per day as decimal text, the minimum total (元), grace days
    "LATE_FEE_RESIDENTIAL_RATE": "0.001",
    "LATE_FEE_CURRENT_YEAR_RATE": "0.002",
    "LATE_FEE_EARLIER_YEAR_RATE": "0.003",
    "LATE_FEE_MINIMUM": "1.00",
    "LATE_FEE_GRACE_DAYS": 0,
    # hour (Asia/Shanghai) of the daily Celery beat run of the late-fee job; it posts on the month's last day
    "LATE_FEE_JOB_HOUR": 23,
    # the dunning ladder per customer class (RULES §1; fields of gridcare.engine.dunning.DunningRule), "default" for
    # the classes not named: notice period 7 days residential, 3 others; disconnection only > 30 days overdue
    "DUNNING_LADDER": {
        "residential": {"notice_days": 7},
        "default": {"notice_days": 3},
    },
    # hours (Asia/Shanghai) for reminders and notices, and for disconnections (working days unless allowed)
    "DUNNING_CONTACT_HOURS": ["08:00", "20:00"],
    "DISCONNECT_HOURS": ["08:30", "17:30"],
    "DISCONNECT_ON_DAYS_OFF": False,
    # the reminder before a disconnection (RULES §1: 30 minutes; some provinces 1 hour) and the reconnection clock
    "PRE_DISCONNECTION_REMINDER_MINUTES": 30,
    "RECONNECT_WITHIN_HOURS": 24,
    # meter kinds that take remote switching commands through the head-end (REMOTE_SWITCH); others: a work order
    "REMOTE_SWITCH_METER_KINDS": ["electronic"],
    # who is notified before an important customer (重要用户) is disconnected
    "AUTHORITY_NAME": "县级电力管理部门",
    # customer credit grade hook: dotted path of a function (account_ids) -> {account_id: "A"|"B"|"C"|"D"}; "" = none
    "CREDIT_GRADE_SOURCE": "gridcare.keyaccounts.selectors.credit_grades",
    # notice days added per credit grade (e.g. {"D": -1}: one day shorter for grade D), never below 0
    "NOTICE_DAYS_BY_GRADE": {},
    # hour (Asia/Shanghai) of the daily Celery beat run of the dunning job
    "DUNNING_JOB_HOUR": 9,
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


def late_fee_posting() -> set[str]:
    """When late fees are posted: a subset of {"payment", "month_end"} (``LATE_FEE_POSTING``)."""
    value = str(conf("LATE_FEE_POSTING")).strip()
    modes = {"payment", "month_end"} if value == "both" else {value}
    unknown = modes - {"payment", "month_end"}
    if unknown:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"GRIDCARE_LEDGER LATE_FEE_POSTING must be payment, month_end or both, not {value!r}"
        )
    return modes
