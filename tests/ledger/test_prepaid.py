"""费控 (prepaid accounts): the remaining balance estimated from the ledger credit, the interval data since the
last bill and the last bill's average price; alerts on the thresholds; remote disconnection at zero — never on
a rest day, at night or for an important customer without approval; a payment reconnects; the daily job is safe
with two copies at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest
from django.core.management import call_command
from django.utils import timezone

from gridcare.core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from gridcare.customers.models import ServicePoint
from gridcare.engine import prepaid as engine
from gridcare.ledger import prepaid, prepaid_actions
from gridcare.ledger.actions import do_take_payment
from gridcare.ledger.models import PrepaidAgreement, PrepaidEstimate, PrepaidEvent
from gridcare.ledger.outbound import Message, Outcome, SwitchCommand
from gridcare.ledger.prepaid_actions import (
    do_decide_prepaid_disconnect,
    do_enrol_prepaid,
    do_leave_prepaid,
    do_run_prepaid,
)
from gridcare.readings.actions.intervals import do_ingest_intervals
from tests.concurrency import run_together, truly_concurrent
from tests.days import today
from tests.readings.conftest import installed, interval_store_dir  # noqa: F401

pytestmark = pytest.mark.django_db


class Recorder:
    """A message sender and a head-end client that remember what they were asked to send."""

    messages: ClassVar[list[Message]] = []
    commands: ClassVar[list[SwitchCommand]] = []

    def send(self, item: Any) -> Outcome:
        (self.messages if isinstance(item, Message) else self.commands).append(item)
        return Outcome(accepted=True, reference=f"R{len(self.messages) + len(self.commands)}")


@pytest.fixture(autouse=True)
def gateways(settings, monkeypatch, interval_store_dir) -> type[Recorder]:  # noqa: F811 - a store per test
    Recorder.messages, Recorder.commands = [], []
    settings.GRIDCARE_LEDGER = {
        "MESSAGE_SENDER": f"{__name__}.Recorder",
        "REMOTE_SWITCH": f"{__name__}.Recorder",
    }
    monkeypatch.setattr(prepaid_actions, "is_working_day", lambda day: True)
    return Recorder


def at(hour: int, day: dt.date | None = None) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day or today(), dt.time(hour)))


def quarters(day: dt.date, kwh: str, meter: str) -> pl.DataFrame:
    start = dt.datetime.combine(day, dt.time())
    return pl.DataFrame(
        {
            "meter": [meter] * 96,
            "ts": [start + dt.timedelta(minutes=15 * n) for n in range(96)],
            "kwh": [kwh] * 96,
        }
    )


@pytest.fixture
def bill_for(staff) -> Any:
    """A released regular bill of ``total`` 元 for ``energy`` kWh over the days ``start``..``end`` (exclusive)."""
    from gridcare.billing.actions import do_release_bills
    from gridcare.billing.models import Bill

    def build(account: Any, total: str, energy: str, start: dt.date, end: dt.date) -> Any:
        bill = Bill.objects.create(
            account=account,
            period=f"{start:%Y-%m}",
            period_start=start,
            period_end=end,
            tariff_code="RES-TIER",
            energy_kwh=Decimal(energy),
            tier_ytd_kwh=Decimal("0"),
            charges=Decimal(total),
            funds=Decimal("0"),
            total=Decimal(total),
        )
        do_release_bills(staff("billing"), Bill.objects.filter(pk=bill.pk), single=True)
        return bill

    return build


@pytest.fixture
def prepaid_account(installed, bill_for, staff, system, cashier) -> Any:  # noqa: F811
    """A prepaid account at CG: a 60 元 bill for 100 kWh (0.60 元/kWh) ending three days ago, 160 元 paid
    (100 元 credit), and two days of 24 kWh of interval data since (0.25 kWh every quarter-hour)."""

    def build(*, paid: str = "160.00", kwh: str = "0.25", important: bool = False) -> Any:
        meter = installed(on="2026-06-01")
        account = meter.service_point.account
        if important:
            ServicePoint.objects.filter(pk=meter.service_point_id).update(is_important=True)
        end = today() - dt.timedelta(days=3)  # (data of today would be partly in the future: refused)
        bill_for(account, "60.00", "100", end - dt.timedelta(days=30), end)
        do_take_payment(cashier(), account=account, amount=paid, method="cash")
        frame = pl.concat(
            [quarters(end, kwh, meter.asset_no), quarters(end + dt.timedelta(days=1), kwh, meter.asset_no)]
        )
        do_ingest_intervals(system, frame, source="file")
        do_enrol_prepaid(cashier(), account=account.number)
        account.meter = meter
        return account

    return build


def test_engine_remaining_days_left_and_status() -> None:
    result = engine.estimate(
        np.array([10000, 10000, 3000, 100]),  # credit in fen: 100 元, 100 元, 30 元, 1 元
        np.array([48000, 0, 0, 10000]),  # 48 kWh, 0, 0, 10 kWh (0.001 kWh)
        np.array([600000, 600000, 600000, 600000]),  # 0.60 元/kWh (1e-6)
        np.array([24000, 0, 1000, 1000]),
        low_fen=5000,
        zero_fen=0,
        low_days=3,
    )
    assert result.consumed_fen.tolist() == [2880, 0, 0, 600]
    assert result.remaining_fen.tolist() == [7120, 10000, 3000, -500]
    # 71.20 元 at 14.40 元 a day = 4.94 → 4.9 days; no use: unknown; 30 元 at 0.60 a day: 50.0 days; none left: 0
    assert result.days_left_tenths.tolist() == [49, engine.NO_DAYS, 500, 0]
    assert [engine.STATUS_CODES[s] for s in result.status] == ["ok", "ok", "low", "zero"]


def test_remaining_balance_from_interval_data_and_the_last_bills_price(prepaid_account) -> None:
    account = prepaid_account()
    [figures] = prepaid.estimate([account.pk], today())
    assert figures.source == "interval"
    assert figures.since == today() - dt.timedelta(
        days=3
    )  # the bill's period end (exclusive) is the first day
    assert (figures.credit, figures.consumption_kwh, figures.price) == (
        Decimal("100.00"),
        Decimal("48.000"),
        Decimal("0.600000"),
    )
    assert (figures.consumed, figures.remaining) == (Decimal("28.80"), Decimal("71.20"))
    assert (figures.daily_kwh, figures.days_left, figures.status) == (Decimal("24.000"), Decimal("4.9"), "ok")


def test_without_interval_data_the_last_bills_daily_average_is_used(
    installed,  # noqa: F811
    bill_for,
    cashier,
) -> None:
    account = installed(on="2026-06-01").service_point.account
    end = today() - dt.timedelta(days=4)
    bill_for(account, "150.00", "300", end - dt.timedelta(days=30), end)  # 10 kWh a day at 0.50 元/kWh
    do_take_payment(cashier(), account=account, amount="200.00", method="cash")
    do_enrol_prepaid(cashier(), account=account.number)
    [figures] = prepaid.estimate([account.pk], today())
    assert figures.source == "bill_average"
    assert (figures.consumption_kwh, figures.price, figures.consumed) == (
        Decimal("50.000"),  # 5 days (end .. today) × 10 kWh
        Decimal("0.500000"),
        Decimal("25.00"),
    )
    assert (figures.remaining, figures.days_left) == (Decimal("25.00"), Decimal("5.0"))


def test_low_balance_alerts_once_and_zero_disconnects_once(
    prepaid_account, gateways, django_capture_on_commit_callbacks, system
) -> None:
    low = prepaid_account(paid="100.00")  # 40 元 credit − 28.80 = 11.20 元: low
    zero = prepaid_account(paid="80.00")  # 20 元 credit − 28.80 < 0: zero
    for _ in range(2):  # the job run twice the same day
        with django_capture_on_commit_callbacks(execute=True):
            summary = do_run_prepaid(system, now=at(10))
    assert (summary.accounts, summary.low, summary.zero) == (2, 1, 1)
    assert PrepaidEstimate.objects.filter(day=today()).count() == 2
    kinds = sorted(PrepaidEvent.objects.values_list("account_id", "kind", "status"))
    assert kinds == sorted(
        [
            (low.pk, "alert_low", "sent"),
            (zero.pk, "alert_zero", "sent"),
            (zero.pk, "disconnect", "sent"),
        ]
    )
    assert [m.account_number for m in gateways.messages] == sorted(
        [low.number, zero.number], key=[low.number, zero.number].index
    )
    assert "11.20" in next(m.text for m in gateways.messages if m.account_number == low.number)
    assert [(c.meter_number, c.action) for c in gateways.commands] == [(zero.meter.asset_no, "disconnect")]
    assert PrepaidAgreement.objects.get(account=zero).switched_off


@pytest.mark.parametrize(
    ("working", "hour", "why"), [(False, 10, "节假日"), (True, 23, "夜间"), (True, 6, "夜间")]
)
def test_no_disconnection_on_rest_days_or_at_night(
    prepaid_account, gateways, monkeypatch, system, working, hour, why
) -> None:
    monkeypatch.setattr(prepaid_actions, "is_working_day", lambda day: working)
    account = prepaid_account(paid="80.00")
    summary = do_run_prepaid(system, now=at(hour))
    assert (summary.zero, summary.held, summary.disconnections) == (1, 1, 0)
    held = PrepaidEvent.objects.get(account=account, kind="held")
    assert why in held.reason
    assert not PrepaidAgreement.objects.get(account=account).switched_off
    assert gateways.commands == []


def test_an_important_customer_is_disconnected_only_after_approval(
    prepaid_account, gateways, django_capture_on_commit_callbacks, system, staff, cashier
) -> None:
    account = prepaid_account(paid="80.00", important=True)
    summary = do_run_prepaid(system, now=at(10))
    assert (summary.awaiting_approval, summary.disconnections) == (1, 0)
    event = PrepaidEvent.objects.get(account=account, kind="disconnect")
    assert event.status == "awaiting"
    with pytest.raises(PermissionRefused):  # a collector cannot approve it
        do_decide_prepaid_disconnect(cashier(), event.pk, approve=True)
    do_run_prepaid(system, now=at(11))  # the next run does not ask again
    assert PrepaidEvent.objects.filter(account=account, kind="disconnect").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        decided = do_decide_prepaid_disconnect(
            staff("manager"), event.pk, approve=True, note="已报政府主管部门", now=at(14)
        )
    decided.refresh_from_db()
    assert (decided.status, decided.decided_by.username) == ("sent", "manager")
    assert [c.action for c in gateways.commands] == ["disconnect"]
    with pytest.raises(Conflict):
        do_decide_prepaid_disconnect(staff("manager"), event.pk, approve=False)


def test_approval_at_night_waits_for_the_next_daytime_run(
    prepaid_account, gateways, django_capture_on_commit_callbacks, system, staff, cashier
) -> None:
    account = prepaid_account(paid="80.00", important=True)
    do_run_prepaid(system, now=at(9))
    event = PrepaidEvent.objects.get(account=account, kind="disconnect")
    assert (
        do_decide_prepaid_disconnect(staff("manager"), event.pk, approve=True, now=at(22)).status
        == "approved"
    )
    assert gateways.commands == []
    with django_capture_on_commit_callbacks(execute=True):
        do_run_prepaid(system, now=at(10))
    event.refresh_from_db()
    assert event.status == "sent"
    assert PrepaidAgreement.objects.get(account=account).switched_off


def test_a_payment_reconnects(
    prepaid_account, gateways, django_capture_on_commit_callbacks, system, cashier, channel
) -> None:
    account = prepaid_account(paid="80.00")
    with django_capture_on_commit_callbacks(execute=True):
        do_run_prepaid(system, now=at(10))
    assert [c.action for c in gateways.commands] == ["disconnect"]
    with django_capture_on_commit_callbacks(execute=True):  # 5 元 is not enough: 25 − 28.80 < 0
        do_take_payment(cashier(), account=account, amount="5.00", method="cash")
    assert [c.action for c in gateways.commands] == ["disconnect"]
    with django_capture_on_commit_callbacks(execute=True):  # a channel payment through the bank
        do_take_payment(
            channel.user,
            account=account.number,
            amount="50.00",
            method="channel",
            channel=channel,
            transaction_id="PP1",
        )
    assert [c.action for c in gateways.commands] == ["disconnect", "reconnect"]
    reconnect = PrepaidEvent.objects.get(account=account, kind="reconnect")
    assert (reconnect.status, reconnect.remaining) == ("sent", Decimal("46.20"))  # 20 + 5 + 50 − 28.80
    assert not PrepaidAgreement.objects.get(account=account).switched_off


def test_enrolment_refusals_change_nothing(prepaid_account, installed, cashier, make_point) -> None:  # noqa: F811
    account = prepaid_account()
    with pytest.raises(Conflict, match="已是费控户"):
        do_enrol_prepaid(cashier(), account=account.number)
    outside = installed(on="2026-06-01", station="HX").service_point.account
    with pytest.raises(NotFound):  # another station's collector: outside the scope
        do_enrol_prepaid(cashier(), account=outside.number)
    no_meter = make_point("CG").account
    with pytest.raises(Conflict, match="没有在装电能表"):
        do_enrol_prepaid(cashier(), account=no_meter.number)
    with pytest.raises(NotFound):
        do_enrol_prepaid(cashier(), account="0000000000")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput, match="不能晚于今天"):
        do_enrol_prepaid(cashier(), account=outside.number, on=tomorrow)
    assert PrepaidAgreement.objects.count() == 1


def test_an_agreement_entered_late_starts_on_its_day(prepaid_account, cashier, make_point, installed) -> None:  # noqa: F811
    account = installed(on="2026-06-01", station="CG").service_point.account
    signed = timezone.localdate() - dt.timedelta(days=3)
    agreement = do_enrol_prepaid(cashier(), account=account.number, on=signed)
    assert agreement.enrolled_on == signed


def test_leaving_is_refused_while_cut_off(prepaid_account, system, cashier) -> None:
    account = prepaid_account(paid="80.00")
    do_run_prepaid(system, now=at(10))
    with pytest.raises(Conflict, match="先缴费复电"):
        do_leave_prepaid(cashier(), account=account.number)
    other = prepaid_account()
    left = do_leave_prepaid(cashier(), account=other.number, note="客户申请")
    assert (left.active, left.left_on) == (False, today())
    assert do_run_prepaid(system, now=at(12)).accounts == 1


def test_the_daily_command(prepaid_account, capsys) -> None:
    prepaid_account(paid="100.00")
    call_command("ledger", "prepaid", "--day", today().isoformat())
    out = capsys.readouterr().out
    assert "1 费控户" in out and "余额不足 1" in out
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        call_command("ledger", "prepaid", "--day", "tomorrow")


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_the_job_at_once_alert_and_disconnect_once(prepaid_account, system, gateways) -> None:
    low = prepaid_account(paid="100.00")
    zero = prepaid_account(paid="80.00")
    now = at(10)
    results = run_together([lambda: do_run_prepaid(system, now=now), lambda: do_run_prepaid(system, now=now)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(PrepaidEvent.objects.values_list("account_id", "kind")) == sorted(
        [(low.pk, "alert_low"), (zero.pk, "alert_zero"), (zero.pk, "disconnect")]
    )
    sent = list(PrepaidEvent.objects.order_by("pk").values_list("kind", "status", "detail"))
    assert len(gateways.commands) == 1 and len(gateways.messages) == 2, sent  # (failed once in a full PG run)
    assert PrepaidEstimate.objects.filter(day=today()).count() == 2
    if truly_concurrent():
        assert sum(r.disconnections for r in results) == 1
