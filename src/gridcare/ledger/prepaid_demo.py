"""Demo 费控 (prepaid) accounts, after the ledger demo's payments — all through the real actions: three accounts
with a meter are enrolled by their station's cashier; one is paid up to a low balance (alerted), one keeps its
arrears (remaining balance below zero: remotely disconnected by the daily job on the latest working day at 10:00),
one has plenty of credit; then the disconnected one pays at the counter and is reconnected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.utils import timezone

from gridcare.core.calendar import is_working_day
from gridcare.customers.models import Account
from gridcare.ledger import posting, prepaid
from gridcare.ledger.actions import do_take_payment
from gridcare.ledger.models import Method, PrepaidEvent
from gridcare.ledger.prepaid_actions import do_enrol_prepaid, do_run_prepaid
from gridcare.metering.models import Meter
from gridcare.org.models import User

#: what the demo's prepaid accounts are left with (元): a low balance, and plenty
LOW_LEFT = Decimal("30.00")
PLENTY_LEFT = Decimal("800.00")


def _daytime_of_latest_working_day() -> dt.datetime:
    """10:00 of the latest working day already past that hour: run before 10:00 (or at night) it is an earlier
    day's, so the disconnection is not held back as a night one."""
    now = timezone.now()
    day = timezone.localdate(now)
    while True:
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
        if is_working_day(day) and moment <= now:
            return moment
        day -= dt.timedelta(days=1)


def build(actor: User, cashiers: dict[str, User], skip: set[int]) -> Iterator[str]:
    """``cashiers``: station code → the demo cashier; ``skip``: accounts other demo steps use."""
    chosen: list[tuple[Account, User]] = []
    with_meter = set(
        Meter.objects.filter(service_point__account__org_unit__code__in=list(cashiers)).values_list(
            "service_point__account_id", flat=True
        )
    )
    owing = {
        a for a in with_meter if a not in skip and posting.balance(a) > 0
    }  # (a few hundred accounts at most)
    for account in (
        Account.objects.filter(pk__in=sorted(owing), is_key_account=False)
        .select_related("org_unit")
        .order_by("pk")[:3]
    ):
        chosen.append((account, cashiers[account.org_unit.code]))
    if len(chosen) < 3:
        yield "ledger: no accounts with a meter and arrears for the prepaid demo"
        return
    now = _daytime_of_latest_working_day()
    day = timezone.localdate(now)
    for account, cashier in chosen:
        do_enrol_prepaid(cashier, account=account.number, note="演示：费控户", on=day)
    (low, low_cashier), (cut, cut_cashier), (rich, rich_cashier) = chosen
    figures = {f.account_id: f for f in prepaid.estimate([low.pk, rich.pk], day)}
    for account, cashier, left in ((low, low_cashier, LOW_LEFT), (rich, rich_cashier, PLENTY_LEFT)):
        amount = left - figures[account.pk].remaining
        do_take_payment(cashier, account=account, amount=f"{amount:.2f}", method=Method.WECHAT)
    summary = do_run_prepaid(actor, day=day, now=now)
    yield f"ledger: 费控 {summary.as_text()}"
    owed = -prepaid.estimate([cut.pk], timezone.localdate())[0].remaining
    do_take_payment(cut_cashier, account=cut, amount=f"{owed + Decimal('200.00'):.2f}", method=Method.CASH)
    back = PrepaidEvent.objects.filter(account=cut, kind=PrepaidEvent.Kind.RECONNECT).exists()
    yield (
        f"ledger: 费控户 {low.number} alerted (low balance), {cut.number} disconnected remotely then "
        f"{'reconnected' if back else 'NOT reconnected'} by its payment, {rich.number} in credit"
    )
