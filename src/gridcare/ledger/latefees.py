"""Posting late fees (电费违约金) into the ledger, set-based: the overdue bill charges of the accounts concerned and
what settled them are read in a few queries, handed to :func:`gridcare.engine.latefees.late_fees` as arrays, and
the *increment* over what was already posted for each bill is bulk-inserted as ``late_fee`` entries linked to the
bill (and to the charge entry they concern).

When (setting ``LATE_FEE_POSTING``): inside the payment action before the payment is allocated (the account's row is
locked; the fee accrued up to the payment day is posted, then the payment settles late fees first per
``ALLOCATION_ORDER``) and/or by the month-end job ``gridcare ledger post-late-fees`` (:func:`do_post_late_fees`).

A late-fee entry's ``day`` is the day up to which it accrued; one late fee per bill and day is a unique constraint,
and the job holds its :func:`gridcare.core.locks.job_lock` and the accounts' row locks, so two copies at once, or the
job and a payment, never post the same accrual twice; a re-run posts nothing new. A computed total below what was
already posted (a bill corrected downwards afterwards) posts nothing: fees are never taken back silently — a waiver
(减免) does that, with a reason and an approval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput
from gridcare.core.locks import job_lock
from gridcare.customers.models import ServicePoint
from gridcare.engine import latefees as engine
from gridcare.engine.money import FEN_DEC, scaled_to_decimal
from gridcare.ledger import posting
from gridcare.ledger.conf import conf
from gridcare.ledger.models import Allocation, Entry
from gridcare.ledger.posting import MoneySum
from gridcare.org.models import User

JOB = "ledger.post_late_fees"
#: the bill entries that accrue late fees
BILL_KINDS = (Entry.Kind.CHARGE, Entry.Kind.CORRECTION)


def rules() -> engine.LateFeeRules:
    """The late-fee rule from the settings (``LATE_FEE_*``)."""
    return engine.LateFeeRules(
        residential_rate=Decimal(str(conf("LATE_FEE_RESIDENTIAL_RATE"))),
        current_year_rate=Decimal(str(conf("LATE_FEE_CURRENT_YEAR_RATE"))),
        earlier_year_rate=Decimal(str(conf("LATE_FEE_EARLIER_YEAR_RATE"))),
        minimum=Decimal(str(conf("LATE_FEE_MINIMUM"))),
        grace_days=int(conf("LATE_FEE_GRACE_DAYS")),
    )


@dataclass
class Accrual:
    """The late fee of one bill charge up to ``until``: the total due and what is still to post."""

    charge_id: int
    account_id: int
    bill_id: int
    due_date: dt.date
    total: Decimal
    posted: Decimal

    @property
    def increment(self) -> Decimal:
        return self.total - self.posted


def _fen(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def accruals(until: dt.date, account_ids: list[int] | None = None) -> list[Accrual]:
    """The late fee of every bill charge that was overdue by ``until`` and is still open or was settled after its
    due date (of the accounts given, or of all accounts): three queries, one engine call."""
    grace = dt.timedelta(days=int(conf("LATE_FEE_GRACE_DAYS")))
    late_credit = Allocation.objects.filter(debit=OuterRef("pk"), credit__day__gt=OuterRef("due_date"))
    charges = Entry.objects.filter(
        kind__in=BILL_KINDS, amount__gt=0, bill__isnull=False, due_date__lt=until - grace
    )
    if account_ids is not None:
        charges = charges.filter(account_id__in=account_ids)
    residential = ServicePoint.objects.filter(
        account_id=OuterRef("account_id"), customer_class=ServicePoint.CustomerClass.RESIDENTIAL
    )
    rows = list(
        charges.annotate(
            done=Coalesce(posting._allocated("in"), Value(posting.ZERO), output_field=posting._MONEY),
            residential=Exists(residential),
        )
        .filter(Q(amount__gt=F("done")) | Exists(late_credit))
        .order_by("pk")
        .values_list("pk", "account_id", "bill_id", "amount", "due_date", "bill__period", "residential")
    )
    if not rows:
        return []
    index = {row[0]: i for i, row in enumerate(rows)}
    # what settled each bill, net per credit (a reversal's negative rows cancel the payment's), dated by the credit
    settled = (
        Allocation.objects.filter(debit_id__in=index.keys())
        .values("debit_id", "credit_id", "credit__day")
        .annotate(total=MoneySum("amount"))
        .filter(total__gt=0)
        .order_by()
    )
    paid_bill, paid_day, paid_fen = [], [], []
    for item in settled:
        paid_bill.append(index[item["debit_id"]])
        paid_day.append(item["credit__day"])
        paid_fen.append(_fen(Decimal(str(item["total"]))))
    posted = dict(
        Entry.objects.filter(kind=Entry.Kind.LATE_FEE, bill_id__in=[r[2] for r in rows])
        .values("bill_id")
        .annotate(total=MoneySum("amount"))
        .values_list("bill_id", "total")
        .order_by()
    )
    result = engine.late_fees(
        np.array([_fen(r[3]) for r in rows], dtype=np.int64),
        np.array([r[4] for r in rows], dtype="datetime64[D]"),
        np.array([int(r[5][:4]) for r in rows], dtype=np.int64),
        np.array([bool(r[6]) for r in rows], dtype=bool),
        np.datetime64(until, "D"),
        engine.Payments(
            np.array(paid_bill, dtype=np.int64),
            np.array(paid_day, dtype="datetime64[D]"),
            np.array(paid_fen, dtype=np.int64),
        ),
        rules(),
    )
    return [
        Accrual(
            charge_id=pk,
            account_id=account_id,
            bill_id=bill_id,
            due_date=due,
            total=scaled_to_decimal(int(fee), FEN_DEC),
            posted=Decimal(str(posted.get(bill_id, 0))).quantize(posting.CENT),
        )
        for (pk, account_id, bill_id, _amount, due, _period, _res), fee in zip(
            rows, result.fee_fen, strict=True
        )
    ]


def post(actor: User, until: dt.date, account_ids: list[int] | None = None) -> list[Entry]:
    """Post the increments of :func:`accruals` as late-fee entries (one bulk insert), settle them from any unapplied
    credit of their accounts, and audit them. The caller holds the accounts' row locks."""
    now = timezone.now()
    entries = [
        Entry(
            account_id=a.account_id,
            kind=Entry.Kind.LATE_FEE,
            amount=a.increment,
            bill_id=a.bill_id,
            concerns_id=a.charge_id,
            day=until,
            due_date=a.due_date,
            posted_at=now,
            posted_by=actor,
            note=f"违约金计至 {until}，累计 {a.total} 元",
        )
        for a in accruals(until, account_ids)
        if a.increment > 0
    ]
    if not entries:
        return []
    Entry.objects.bulk_create(entries, batch_size=5000)
    for account_id in posting.accounts_with_credit(sorted({e.account_id for e in entries})):
        posting.settle(account_id, next(e.pk for e in entries if e.account_id == account_id))
    audit.bulk_record(
        actor,
        "ledger.post_late_fee",
        (
            {
                "object_type": "ledger.entry",
                "object_id": e.pk,
                "object_repr": str(e),
                "after": {"account": e.account_id, "bill": e.bill_id, "amount": e.amount, "until": until},
            }
            for e in entries
        ),
    )
    return entries


def _until(until: dt.date | None) -> dt.date:
    today = timezone.localdate()
    if until is None:
        return today
    if not isinstance(until, dt.date):
        raise InvalidInput({"until": f"「{until}」不是日期。 (Not a date.)"})
    if until > today:
        raise InvalidInput(
            {
                "until": f"违约金只能计至今天（{today}），不能计至 {until}。 (Late fees accrue up to today at most.)"
            }
        )
    return until


@action(JOB, permission="arrears.dun")
def do_post_late_fees(actor: User, until: dt.date | None = None) -> int:
    """计收违约金 — the month-end job: the late fees of every overdue bill accrued up to ``until`` (default today),
    only the increment over what was already posted. Two copies at once: the second is refused
    (:class:`gridcare.core.locks.JobBusy`) and would post nothing anyway."""
    day = _until(until)
    with job_lock(JOB):
        candidates = sorted({a.account_id for a in accruals(day) if a.increment > 0})
        posting.lock_accounts(candidates)
        entries = post(actor, day, candidates) if candidates else []
    total = sum((e.amount for e in entries), posting.ZERO)
    audit.record(
        actor,
        JOB,
        object_type="ledger.entry",
        object_id="*",
        object_repr=f"违约金 {len(entries)} 笔 {total} 元",
        after={"until": day, "posted": len(entries), "amount": total},
    )
    return len(entries)


def explain(charge: Entry, until: dt.date | None = None) -> engine.LateFeeExplanation | None:
    """Why a bill charge owes its late fee up to ``until`` (default today): days, base, rate, amount per line;
    ``None`` when it is not overdue."""
    day = until or timezone.localdate()
    grace = int(conf("LATE_FEE_GRACE_DAYS"))
    if charge.bill_id is None or charge.amount <= 0 or charge.due_date + dt.timedelta(days=grace) >= day:
        return None
    settled = (
        Allocation.objects.filter(debit_id=charge.pk)
        .values("credit_id", "credit__day")
        .annotate(total=MoneySum("amount"))
        .filter(total__gt=0)
        .order_by()
    )
    residential = ServicePoint.objects.filter(
        account_id=charge.account_id, customer_class=ServicePoint.CustomerClass.RESIDENTIAL
    ).exists()
    period: Any = charge.bill.period if charge.bill is not None else str(charge.due_date.year)
    return engine.explain(
        _fen(charge.amount),
        charge.due_date,
        int(str(period)[:4]),
        residential,
        day,
        [(row["credit__day"], _fen(Decimal(str(row["total"])))) for row in settled],
        rules(),
    )
