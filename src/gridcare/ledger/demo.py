"""Demo ledger, after the billing demo: the released bills are in the ledger (posted at release); station cashiers
take counter payments with every method (one overpayment kept as a prepayment, one same-day reversal), two
channels (a bank, an aggregator) post the bulk of the payments set-based, some accounts stay unpaid, one cashier's
day is closed, the bank's daily file is reconciled with one difference of each kind and each difference resolved,
and a few prepaid accounts (费控) are estimated, alerted, disconnected and reconnected (:mod:`prepaid_demo`) — all
through the real actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils import timezone

from gridcare.customers.models import Account
from gridcare.ledger import dunning, history_demo, prepaid_demo
from gridcare.ledger.actions import (
    do_close_day,
    do_post_bill_charges,
    do_register_channel,
    do_reverse_payment,
    do_take_channel_payments,
    do_take_payment,
)
from gridcare.ledger.history_demo import replay as replay
from gridcare.ledger.models import (
    Channel,
    ChannelFile,
    DailyClose,
    Difference,
    DunningCase,
    DunningStep,
    Entry,
    Method,
    Payment,
)
from gridcare.ledger.posting import MoneySum
from gridcare.ledger.reconcile import do_import_channel_file, do_resolve_difference
from gridcare.org import actions as org_actions
from gridcare.org.demo import DEMO_PASSWORD
from gridcare.org.models import OrgUnit, Position, User
from gridcare.org.selectors import system_actor

#: station cashiers (收费员) the demo creates: username, name, station
CASHIERS = [("cg_cashier", "钱红", "CG"), ("hx_cashier", "孙丽", "HX"), ("sn_cashier", "周强", "SNS")]
#: counter payments per cashier (the rest of the paid accounts pay through the channels)
COUNTER_PAYMENTS = 12
#: every n-th account with a balance stays unpaid
UNPAID_EVERY = 8
BANK_LAYOUT = {"transaction": "流水号", "account": "户号", "amount": "金额", "delimiter": ","}
AGGREGATOR_LAYOUT = {
    "transaction": "trade_no",
    "account": "account_no",
    "amount": "total_fen",
    "amount_unit": "fen",
}
CHUNK = 5000
#: today's bank payments the reconciliation demo needs (one left out, one with another amount, one matched)
BANK_FILE_MINIMUM = 3


def _staff(actor: User, username: str, full_name: str, position: str, unit: str, n: int) -> User:
    found = User.objects.filter(username=username).first()
    if found is not None:
        return found
    return org_actions.do_create_staff(
        actor,
        username=username,
        password=DEMO_PASSWORD,
        full_name=full_name,
        position=Position.objects.get(code=position),
        org_unit=OrgUnit.objects.get(code=unit),
        employee_no=f"GC9{n:03d}",
        phone=f"137{n:08d}",
    )


def setup() -> None:
    """The demo's station cashiers, channel users and channels (工商银行, 支付宝), once: made by the first replayed
    window (:mod:`history_demo`) or by :func:`build`."""
    if Channel.objects.filter(code__in=["ICBC", "ALIPAY"]).count() == 2:
        return
    actor = system_actor()
    for i, (username, name, unit) in enumerate(CASHIERS, 1):
        _staff(actor, username, name, "collector", unit, i)
    bank_user = User.objects.filter(username="bank").first() or _staff(
        actor, "bank", "工商银行代收", "channel_integration", "SF", 10
    )
    aggregator_user = _staff(actor, "alipay_channel", "支付宝代收", "channel_integration", "SF", 11)
    if not Channel.objects.filter(code="ICBC").exists():
        do_register_channel(actor, code="ICBC", name="工商银行", user=bank_user, layout=BANK_LAYOUT)
    if not Channel.objects.filter(code="ALIPAY").exists():
        do_register_channel(
            actor, code="ALIPAY", name="支付宝", user=aggregator_user, layout=AGGREGATOR_LAYOUT
        )


def build(actor: User, scale: str) -> Iterator[str]:
    """Today, after the replayed year (:mod:`history_demo`): the current month's bills of the on-time payers paid
    at the counters and through the channels, the 费控 accounts, a cashier's day closed, the bank's file reconciled,
    a key account's payment plan."""
    if DailyClose.objects.exists() or ChannelFile.objects.exists():
        yield "ledger: demo payments already present (use --reset to rebuild)"
        return
    setup()
    accountant = User.objects.filter(username="billing").first() or actor
    posted = do_post_bill_charges(accountant)
    cashiers = {unit: User.objects.get(username=username) for username, _name, unit in CASHIERS}
    bank = Channel.objects.get(code="ICBC")
    aggregator = Channel.objects.get(code="ALIPAY")
    owing = list(
        Entry.objects.values("account_id")
        .annotate(total=MoneySum("amount"))
        .filter(total__gt=0)
        .order_by("account_id")
        .values_list("account_id", "total")
    )
    state = dunning.standing()
    in_arrears = {a for a, d in zip(state.account_ids, state.arrears, strict=True) if d > 0}
    classes = history_demo.account_classes([a for a, _ in owing])
    keys = set(
        Account.objects.filter(pk__in=[a for a, _ in owing], is_key_account=True).values_list("pk", flat=True)
    )
    units = dict(Account.objects.filter(pk__in=[a for a, _ in owing]).values_list("pk", "org_unit__code"))
    numbers = dict(Account.objects.filter(pk__in=[a for a, _ in owing]).values_list("pk", "number"))
    unpaid = [row for row in owing if row[0] in in_arrears]
    to_pay = [
        row
        for row in owing
        if row[0] not in in_arrears
        and history_demo.habit(row[0], classes.get(row[0], ""), row[0] in keys)[0] == history_demo.ON_TIME
    ]
    methods = [Method.CASH, Method.POS, Method.WECHAT, Method.ALIPAY, Method.BANK_TRANSFER]
    taken: dict[str, int] = {}
    # the channels always get a few of today's payers, whatever the counters could take: the bank's file of the
    # day needs BANK_FILE_MINIMUM of its payments (how many pay today depends on the day the demo is built)
    reserved = BANK_FILE_MINIMUM + 1
    channel_rows: list[tuple[int, Decimal]] = to_pay[-reserved:]
    overpaid = reversed_ = False
    for account_id, total in to_pay[:-reserved]:
        cashier = cashiers.get(units.get(account_id, ""))
        if cashier is None or taken.get(cashier.username, 0) >= COUNTER_PAYMENTS:
            channel_rows.append((account_id, total))
            continue
        n = taken.get(cashier.username, 0)
        amount = total + Decimal("50.00") if not overpaid else total
        payment = do_take_payment(
            cashier, account=account_id, amount=amount, method=methods[n % len(methods)]
        )
        overpaid = True
        if not reversed_ and n == 1:  # a wrong amount taken, reversed the same day, taken again
            do_reverse_payment(cashier, payment.pk, "金额录入错误，当日冲正")
            do_take_payment(cashier, account=account_id, amount=total, method=Method.CASH)
            reversed_ = True
        taken[cashier.username] = n + 1
    yield (
        f"ledger: {posted:,} bills posted now, {sum(taken.values())} counter payments by {len(taken)} cashiers "
        f"(one overpayment kept as a prepayment, one reversal)"
    )
    today = timezone.localdate()
    # the bank's file of the day is reconciled below with a difference of each kind: it needs three of today's
    # payments at least — with only a few of them (a tiny demo) the bank takes them all
    few = len(channel_rows) < 2 * BANK_FILE_MINIMUM
    for start in range(0, len(channel_rows), CHUNK):
        chunk = channel_rows[start : start + CHUNK]
        for channel in (bank, aggregator):
            rows = [
                {
                    "account": numbers[a],
                    "amount": str(t),
                    "transaction_id": f"{channel.code}{today:%Y%m%d}T{a:09d}",
                }
                for i, (a, t) in enumerate(chunk)
                if (i % 2 == 0 or few) == (channel is bank)
            ]
            if rows:
                do_take_channel_payments(channel.user, channel=channel, rows=rows)
    yield (
        f"ledger: today {len(channel_rows):,} channel payments (工商银行, 支付宝); {len(unpaid):,} accounts in "
        "arrears"
    )
    # 费控 before the close (the reconnecting payment is taken at a counter still open); not the accounts the
    # collectors took up the ladder (approval, notice, disconnection)
    chased = set(
        DunningCase.objects.filter(status=DunningCase.Status.OPEN, last_step__gt=1).values_list(
            "account_id", flat=True
        )
    )
    yield from prepaid_demo.build(actor, cashiers, skip={a for a, _ in unpaid[:1]} | chased)
    closing = cashiers.get("HX")
    if closing is not None:
        close = do_close_day(closing, cash_handed_over=_cash(closing, today), note="")
        yield f"ledger: {closing.display_name} closed {today} — {close.total} 元 taken"
    file_rows = _bank_file(bank, today, unpaid, numbers)
    if file_rows:
        record = do_import_channel_file(
            accountant, channel=bank, day=today, name=f"ICBC-{today:%Y%m%d}.csv", content=file_rows
        )
        yield (
            f"ledger: 工商银行 {today} reconciled — {record.matched} matched, {record.only_ours} only ours, "
            f"{record.only_theirs} only theirs, {record.amount_differs} amount differs"
        )
        yield _resolve(accountant, record)
    yield from _collection(actor, unpaid)


def _collection(actor: User, unpaid: list[tuple[int, Decimal]]) -> Iterator[str]:
    """The year's collection in figures (the late-fee and dunning jobs ran on their days in the replay), and a key
    account in arrears gets a payment plan of two instalments from its key account manager, in force today."""
    fees = Entry.objects.filter(kind=Entry.Kind.LATE_FEE).count()
    cases = DunningCase.objects.count()
    cut = DunningStep.objects.filter(kind=DunningStep.Kind.DISCONNECTED).count()
    back = DunningStep.objects.filter(kind=DunningStep.Kind.RECONNECTED).count()
    yield (
        f"ledger: the year — {fees:,} late fees, {cases:,} dunning cases, {cut} disconnections, {back} "
        f"reconnections, {len(unpaid):,} accounts in arrears today"
    )
    managed = dict(
        Account.objects.filter(pk__in=[a for a, _ in unpaid], account_manager__isnull=False).values_list(
            "pk", "account_manager"
        )
    )
    for account_id, total in unpaid:
        manager_id = managed.get(account_id)
        manager = User.objects.filter(pk=manager_id).first() if manager_id is not None else None
        if manager is None or total < Decimal("2.00"):
            continue
        plan, _first = history_demo.two_halves_plan(
            manager, account_id, total, timezone.localdate(), "资金周转困难，分两期缴清", (30, 60)
        )
        yield f"ledger: payment plan of {plan.amount} 元 in two instalments set by {manager.display_name}"
        break


#: how the demo resolves each kind of reconciliation difference
RESOLUTIONS = {
    Difference.Kind.ONLY_THEIRS: (Difference.Resolution.POSTED, "渠道已扣款，补记收费"),
    Difference.Kind.ONLY_OURS: (Difference.Resolution.REVERSAL_ASKED, "渠道无此笔，申请冲正本方收费"),
    Difference.Kind.AMOUNT_DIFFERS: (Difference.Resolution.ACCEPTED, "渠道文件金额录入错误，以本方为准"),
}


def _resolve(actor: User, record: Any) -> str:
    """Each difference of the file resolved through do_resolve_difference (the reversal asked for waits for an
    approver)."""
    done = []
    for difference in record.differences.order_by("pk"):
        resolution, note = RESOLUTIONS[difference.kind]
        do_resolve_difference(actor, difference.pk, resolution=resolution, note=note)
        done.append(f"{difference.get_kind_display()} → {Difference.Resolution(resolution).label}")
    return f"ledger: differences resolved — {'; '.join(str(d) for d in done)}"


def _cash(cashier: User, day: dt.date) -> Decimal:
    from gridcare.ledger.actions import day_figures

    return Decimal(day_figures(cashier.pk, day)["cash_expected"])


def _bank_file(
    bank: Channel, day: dt.date, unpaid: list[tuple[int, Decimal]], numbers: dict[int, str]
) -> bytes:
    """The bank's file of the day: our bank payments, less one (only ours), one with another amount (amount
    differs), plus one we never received (only theirs: an unpaid account)."""
    ours = list(
        Payment.objects.filter(channel=bank, day=day)
        .order_by("pk")
        .values_list("transaction_id", "account__number", "amount")
    )
    if len(ours) < BANK_FILE_MINIMUM or not unpaid:
        return b""
    lines = [f"{t},{a},{m}" for t, a, m in ours[1:]]
    txn, number, amount = ours[1]
    lines[0] = f"{txn},{number},{amount + Decimal('1.00')}"
    account_id, total = unpaid[0]
    lines.append(f"ICBC{day:%Y%m%d}X{account_id:08d},{numbers[account_id]},{total}")
    return ("流水号,户号,金额\n" + "\n".join(lines) + "\n").encode()
