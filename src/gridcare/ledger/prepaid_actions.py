"""费控 writes: enrol an account as prepaid and let it leave, the daily estimate job (``gridcare ledger prepaid``)
with its balance alerts and remote disconnections, the approval of an important customer's disconnection, the
sending of what the job decided (after commit), and the reconnection a payment triggers.

Two copies of the daily job at once are harmless: an estimate is kept once per account and day (upserted), an
alert or a disconnection once per account, day and kind (a unique constraint; the second insert is ignored), and
the sender takes each pending event under a row lock, skipping those another copy holds."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope
from gridcare.core.actions import action
from gridcare.core.calendar import is_working_day
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.customers.models import Account, Contact, ServicePoint
from gridcare.ledger import prepaid
from gridcare.ledger.conf import conf
from gridcare.ledger.models import PrepaidAgreement, PrepaidEstimate, PrepaidEvent
from gridcare.ledger.outbound import Message, SwitchCommand, message_sender, remote_switch
from gridcare.metering.models import Meter
from gridcare.org.models import User

Event = PrepaidEvent
OPEN_DISCONNECT = (Event.Status.AWAITING_APPROVAL, Event.Status.APPROVED, Event.Status.PENDING)
_ESTIMATE_FIELDS = [
    "since",
    "credit",
    "consumption_kwh",
    "price",
    "consumed",
    "remaining",
    "daily_kwh",
    "days_left",
    "status",
    "source",
    "computed_at",
]


def _prepaid_account(actor: User, account: Account | int | str) -> Account:
    rows = Account.objects.select_related("org_unit")
    if isinstance(account, Account):
        return get_in_scope(rows, actor, write=True, pk=account.pk)
    text = str(account or "").strip()
    if not text:
        raise InvalidInput({"account": "请填写户号。 (The account number is required.)"})
    if isinstance(account, int):
        return get_in_scope(rows, actor, write=True, pk=account)
    return get_in_scope(rows, actor, write=True, number=text)


@action("ledger.enrol_prepaid", permission="prepaid.manage")
def do_enrol_prepaid(
    actor: User, *, account: Account | int | str, note: str = "", on: dt.date | None = None
) -> PrepaidAgreement:
    """办理费控 — the account becomes prepaid from ``on`` (default today; an agreement signed earlier and entered
    late, never a future day): its remaining balance is estimated daily, it is alerted and, at zero, disconnected
    remotely."""
    today = timezone.localdate()
    on = on or today
    if on > today:
        raise InvalidInput(
            {"on": f"费控生效日期 {on} 不能晚于今天。 (The agreement cannot start in the future.)"}
        )
    target = _prepaid_account(actor, account)
    if target.status != Account.Status.ACTIVE:
        raise Conflict(
            f"户号 {target.number} 状态为「{target.get_status_display()}」，不能办理费控。 (Only an active account.)"
        )
    if not Meter.objects.filter(service_point__account=target).exists():
        raise Conflict(
            f"户号 {target.number} 没有在装电能表，无法远程费控。 (The account has no installed meter to switch.)"
        )
    if PrepaidAgreement.objects.select_for_update().filter(account=target, active=True).exists():
        raise Conflict(f"户号 {target.number} 已是费控户。 (The account is prepaid already.)")
    agreement = PrepaidAgreement.objects.create(
        account=target, enrolled_on=on, enrolled_by=actor, note=(note or "").strip()[:200]
    )
    audit.record(actor, "ledger.enrol_prepaid", agreement, after={"account": target.number}, note=note)
    return agreement


@action("ledger.leave_prepaid", permission="prepaid.manage")
def do_leave_prepaid(actor: User, *, account: Account | int | str, note: str = "") -> PrepaidAgreement:
    """退出费控 — the account is billed and chased as usual again; not while its supply is cut remotely."""
    target = _prepaid_account(actor, account)
    agreement = PrepaidAgreement.objects.select_for_update().filter(account=target, active=True).first()
    if agreement is None:
        raise Conflict(f"户号 {target.number} 不是费控户。 (The account is not prepaid.)")
    if agreement.switched_off:
        raise Conflict(
            f"户号 {target.number} 已远程停电，须先缴费复电再退出费控。 (Reconnect the account before it leaves.)"
        )
    agreement.active = False
    agreement.left_on = timezone.localdate()
    agreement.left_by = actor
    agreement.save(update_fields=["active", "left_on", "left_by"])
    audit.record(
        actor, "ledger.leave_prepaid", agreement, before={"active": True}, after={"active": False}, note=note
    )
    return agreement


# --- the daily job ------------------------------------------------------------------------------------------


def is_night(moment: dt.datetime) -> bool:
    """Between ``PREPAID_NIGHT_STARTS`` and ``PREPAID_DAY_STARTS`` local time: no remote disconnection."""
    hour = timezone.localtime(moment).hour
    return hour >= int(conf("PREPAID_NIGHT_STARTS")) or hour < int(conf("PREPAID_DAY_STARTS"))


def may_disconnect_now(moment: dt.datetime) -> str:
    """Why a remote disconnection may not happen at ``moment`` (empty: it may)."""
    if not is_working_day(timezone.localtime(moment).date()):
        return "节假日不停电 (no disconnection on holidays and rest days)"
    if is_night(moment):
        return "夜间不停电 (no disconnection at night)"
    return ""


@dataclass
class RunSummary:
    day: dt.date
    accounts: int = 0
    low: int = 0
    zero: int = 0
    alerts: int = 0
    disconnections: int = 0
    held: int = 0
    awaiting_approval: int = 0
    event_ids: list[int] = field(default_factory=list)

    def as_text(self) -> str:
        return (
            f"{self.day}: {self.accounts} 费控户 — 余额不足 {self.low}，余额耗尽 {self.zero}；告警 {self.alerts}，"
            f"远程停电 {self.disconnections}，暂缓 {self.held}，待审批 {self.awaiting_approval}"
        )


def _previous_status(ids: Sequence[int], day: dt.date) -> dict[int, str]:
    rows = (
        PrepaidEstimate.objects.filter(account_id__in=ids, day__lt=day)
        .order_by("account_id", "-day")
        .values_list("account_id", "status")
    )
    found: dict[int, str] = {}
    for account_id, status in rows:
        found.setdefault(account_id, status)
    return found


def _chunk(
    actor: User, ids: list[int], day: dt.date, now: dt.datetime, summary: RunSummary
) -> list[PrepaidEvent]:
    figures = prepaid.estimate(ids, day)
    previous = _previous_status(ids, day)
    estimates = [f.as_estimate(day) for f in figures]
    for e in estimates:
        e.computed_at = now
    PrepaidEstimate.objects.bulk_create(
        estimates,
        update_conflicts=True,
        unique_fields=["account", "day"],
        update_fields=_ESTIMATE_FIELDS,
        batch_size=5000,
    )
    zero_ids = [f.account_id for f in figures if f.status == PrepaidEstimate.Status.ZERO]
    agreements = {
        a.account_id: a
        for a in PrepaidAgreement.objects.select_for_update()
        .filter(account_id__in=zero_ids, active=True)
        .order_by("account_id")
    }
    important = set(
        ServicePoint.objects.filter(account_id__in=zero_ids, is_important=True).values_list(
            "account_id", flat=True
        )
    )
    # read, not locked: the agreements' locks above already keep two copies of the job apart, and a lock here held
    # the pending command the other copy had just decided, so its dispatch (skip locked) left it unsent. Only an
    # approved disconnection, which this run moves on to be sent, is locked (and read again under the lock).
    open_disconnect = {
        e.account_id: e
        for e in Event.objects.filter(
            account_id__in=zero_ids, kind=Event.Kind.DISCONNECT, status__in=OPEN_DISCONNECT
        )
    }
    approved = [e.pk for e in open_disconnect.values() if e.status == Event.Status.APPROVED]
    for locked in Event.objects.select_for_update().filter(pk__in=approved):
        open_disconnect[locked.account_id] = locked
    blocked = may_disconnect_now(now)
    events: list[PrepaidEvent] = []
    switch_off: list[int] = []

    def add(
        account_id: int, kind: str, remaining: Decimal, status: str = Event.Status.PENDING, reason: str = ""
    ) -> None:
        events.append(
            Event(
                account_id=account_id,
                day=day,
                kind=kind,
                status=status,
                remaining=remaining,
                reason=reason[:200],
                created_at=now,
                created_by=actor,
            )
        )

    for f in figures:
        before = previous.get(f.account_id)
        if f.status == PrepaidEstimate.Status.LOW:
            summary.low += 1
            if before != PrepaidEstimate.Status.LOW:
                add(f.account_id, Event.Kind.ALERT_LOW, f.remaining)
        elif f.status == PrepaidEstimate.Status.ZERO:
            summary.zero += 1
            if before != PrepaidEstimate.Status.ZERO:
                add(f.account_id, Event.Kind.ALERT_ZERO, f.remaining)
            agreement = agreements.get(f.account_id)
            if agreement is None or agreement.switched_off:
                continue
            waiting = open_disconnect.get(f.account_id)
            if f.account_id in important and waiting is None:
                add(
                    f.account_id,
                    Event.Kind.DISCONNECT,
                    f.remaining,
                    Event.Status.AWAITING_APPROVAL,
                    "重要用户停电须经审批 (an important customer: approval first)",
                )
            elif f.account_id in important and waiting is not None:
                if waiting.status == Event.Status.APPROVED and not blocked:
                    waiting.status = Event.Status.PENDING
                    waiting.save(update_fields=["status"])
                    switch_off.append(f.account_id)
                    summary.disconnections += 1
                    summary.event_ids.append(waiting.pk)
            elif blocked:
                add(f.account_id, Event.Kind.HELD, f.remaining, Event.Status.NOTED, blocked)
            elif waiting is None:
                add(
                    f.account_id,
                    Event.Kind.DISCONNECT,
                    f.remaining,
                    reason="剩余电费耗尽 (balance exhausted)",
                )
    # two copies at once: the second insert of an (account, day, kind) is ignored by the unique constraint; this
    # copy's rows are those carrying its token (then cleared)
    token = f"run:{uuid.uuid4().hex}"
    for event in events:
        event.reference = token
    Event.objects.bulk_create(events, ignore_conflicts=True)
    created = list(Event.objects.filter(reference=token).order_by("pk"))
    Event.objects.filter(reference=token).update(reference="")
    for event in created:
        if event.kind in (Event.Kind.ALERT_LOW, Event.Kind.ALERT_ZERO):
            summary.alerts += 1
        elif event.kind == Event.Kind.HELD:
            summary.held += 1
        elif event.status == Event.Status.AWAITING_APPROVAL:
            summary.awaiting_approval += 1
        elif event.kind == Event.Kind.DISCONNECT:
            switch_off.append(event.account_id)
            summary.disconnections += 1
        if event.status == Event.Status.PENDING:
            summary.event_ids.append(event.pk)
    if switch_off:
        PrepaidAgreement.objects.filter(account_id__in=switch_off, active=True).update(switched_off=True)
    audit.bulk_record(
        actor,
        "ledger.prepaid_event",
        (
            {
                "object_type": "ledger.prepaidevent",
                "object_id": e.pk,
                "object_repr": f"{e.get_kind_display()} {e.day}",
                "after": {
                    "account": e.account_id,
                    "kind": e.kind,
                    "status": e.status,
                    "remaining": e.remaining,
                },
            }
            for e in created
        ),
    )
    return created


@action("ledger.run_prepaid", permission="prepaid.manage")
def do_run_prepaid(actor: User, *, day: dt.date | None = None, now: dt.datetime | None = None) -> RunSummary:
    """费控日结 — estimate the remaining balance of every prepaid account for ``day`` (default today), alert on
    the thresholds and disconnect at zero (not on non-working days, not at night, an important customer only
    after approval). What is to be sent goes out after commit (:func:`do_dispatch_prepaid_events`)."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    if day > timezone.localdate(now):
        raise InvalidInput({"day": f"不能估算未来的日期 {day}。 (A day in the future cannot be estimated.)"})
    summary = RunSummary(day=day)
    ids = list(
        PrepaidAgreement.objects.filter(active=True, enrolled_on__lte=day)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )
    size = int(conf("PREPAID_CHUNK"))
    for start in range(0, len(ids), size):
        _chunk(actor, ids[start : start + size], day, now, summary)
    summary.accounts = len(ids)
    audit.record(
        actor,
        "ledger.run_prepaid",
        object_type="ledger.prepaidestimate",
        object_id="*",
        object_repr=summary.as_text(),
        after={
            "day": day,
            "accounts": summary.accounts,
            "low": summary.low,
            "zero": summary.zero,
            "alerts": summary.alerts,
            "disconnections": summary.disconnections,
        },
    )
    dispatch_after_commit(summary.event_ids)
    return summary


@action("ledger.decide_prepaid_disconnect", permission="disconnection.approve_important")
def do_decide_prepaid_disconnect(
    actor: User, event_id: int, *, approve: bool, note: str = "", now: dt.datetime | None = None
) -> PrepaidEvent:
    """审批重要用户费控停电 — approve (the command goes out now, or with the next daily run when it is night or a
    holiday) or reject. A balance that recovered since is refused."""
    now = now or timezone.now()
    event = get_in_scope(
        Event.objects.select_for_update(of=("self",)).select_related("account"),
        actor,
        write=True,
        pk=event_id,
    )
    if event.kind != Event.Kind.DISCONNECT or event.status != Event.Status.AWAITING_APPROVAL:
        raise Conflict(f"该费控事件为「{event.get_status_display()}」，无需审批。 (Not awaiting approval.)")
    before = audit.snapshot(event, ["status"])
    latest = PrepaidEstimate.objects.filter(account_id=event.account_id).order_by("-day").first()
    agreement = (
        PrepaidAgreement.objects.select_for_update().filter(account_id=event.account_id, active=True).first()
    )
    if approve and (agreement is None or latest is None or latest.status != PrepaidEstimate.Status.ZERO):
        raise Conflict(
            f"户号 {event.account.number} 余额已恢复或已退出费控，不能停电；请驳回。"
            " (The balance recovered or the account left prepaid: reject the request.)"
        )
    event.decided_by = actor
    event.decided_at = now
    event.detail = (note or "").strip()[:200]
    if not approve:
        event.status = Event.Status.REJECTED
    elif may_disconnect_now(now):
        event.status = Event.Status.APPROVED
    else:
        event.status = Event.Status.PENDING
        assert agreement is not None
        agreement.switched_off = True
        agreement.save(update_fields=["switched_off"])
        dispatch_after_commit([event.pk])
    event.save(update_fields=["status", "decided_by", "decided_at", "detail"])
    audit.record(
        actor,
        "ledger.decide_prepaid_disconnect",
        event,
        before=before,
        after={"status": event.status},
        note=note,
    )
    return event


# --- sending ------------------------------------------------------------------------------------------------


def dispatch_after_commit(event_ids: Sequence[int]) -> None:
    """Send the events once the transaction that decided them has committed, as the system (a channel posting
    the payment that reconnects may not send commands itself). A gateway failure is logged and leaves the events
    pending for the next run — it never fails the payment or the job that is already committed."""
    pending = list(event_ids)
    if not pending:
        return

    def send() -> None:
        from gridcare.org.selectors import system_actor

        do_dispatch_prepaid_events(system_actor(), event_ids=pending)

    transaction.on_commit(send, robust=True)


def _alert_text(event: PrepaidEvent, number: str) -> str:
    if event.kind == Event.Kind.ALERT_ZERO:
        return f"【电费提醒】户号{number}剩余电费已用完（{event.remaining}元），请及时缴费以免停电。"
    return f"【电费提醒】户号{number}剩余电费{event.remaining}元，余额不足，请及时缴费。"


@action("ledger.dispatch_prepaid", permission="prepaid.manage")
def do_dispatch_prepaid_events(actor: User, *, event_ids: Iterable[int] | None = None) -> int:
    """Send the pending alerts (``MESSAGE_SENDER``) and switching commands (``REMOTE_SWITCH``), each under its row
    lock (another copy skips it), and record the gateway's answer. Returns how many went out."""
    rows = Event.objects.filter(status=Event.Status.PENDING)
    if event_ids is not None:
        rows = rows.filter(pk__in=list(event_ids))
    taken = list(
        rows.select_for_update(skip_locked=True, of=("self",)).select_related("account").order_by("pk")
    )
    if not taken:
        audit.record(
            actor,
            "ledger.dispatch_prepaid",
            object_type="ledger.prepaidevent",
            object_id="*",
            object_repr="无待发送 (nothing to send)",
            after={"sent": 0},
        )
        return 0
    accounts = {e.account_id for e in taken}
    phones: dict[int, str] = {}
    for account_id, mobile in (
        Contact.objects.filter(customer__accounts__in=accounts)
        .order_by("-is_primary", "pk")
        .values_list("customer__accounts", "mobile")
    ):
        phones.setdefault(account_id, mobile)
    meters: dict[int, list[str]] = {}
    for account_id, asset in Meter.objects.filter(service_point__account_id__in=accounts).values_list(
        "service_point__account_id", "asset_no"
    ):
        meters.setdefault(account_id, []).append(asset)
    sender, switch = message_sender(), remote_switch()
    now = timezone.now()
    sent = 0
    for event in taken:
        number = event.account.number
        if event.kind in (Event.Kind.ALERT_LOW, Event.Kind.ALERT_ZERO):
            outcome = sender.send(
                Message(number, "sms", phones.get(event.account_id, ""), _alert_text(event, number))
            )
            accepted, reference, detail = outcome.accepted, outcome.reference, outcome.detail
        else:
            answers = [
                switch.send(SwitchCommand(asset, str(event.kind), f"PREPAID-{event.pk}"))
                for asset in meters.get(event.account_id, [])
            ]
            accepted = bool(answers) and all(a.accepted for a in answers)
            reference = ",".join(a.reference for a in answers if a.reference)
            detail = "; ".join(a.detail for a in answers if a.detail) or (
                "" if answers else "没有电能表 (no meter)"
            )
        event.status = Event.Status.SENT if accepted else Event.Status.FAILED
        event.reference = reference[:64]
        event.detail = (event.detail + " " + detail).strip()[:200] if event.detail else detail[:200]
        event.sent_at = now
        event.save(update_fields=["status", "reference", "detail", "sent_at"])
        sent += accepted
    audit.bulk_record(
        actor,
        "ledger.dispatch_prepaid",
        (
            {
                "object_type": "ledger.prepaidevent",
                "object_id": e.pk,
                "object_repr": f"{e.get_kind_display()} {e.account.number}",
                "after": {"status": e.status, "reference": e.reference},
            }
            for e in taken
        ),
    )
    return sent


# --- payments -----------------------------------------------------------------------------------------------


def reconnect_after_payment(actor: User, account_ids: Sequence[int]) -> list[PrepaidEvent]:
    """Called by the payment actions in their transaction: a prepaid account cut for a zero balance whose
    remaining balance is above zero again gets its remote reconnection (sent after commit). One query when none
    of the accounts is cut off (the usual case)."""
    cut = list(
        PrepaidAgreement.objects.filter(account_id__in=list(account_ids), active=True, switched_off=True)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )
    if not cut:
        return []
    today = timezone.localdate()
    zero = Decimal(str(conf("PREPAID_ALERT_ZERO")))
    again = [f for f in prepaid.estimate(cut, today) if f.remaining > zero]
    if not again:
        return []
    now = timezone.now()
    ids = [f.account_id for f in again]
    PrepaidAgreement.objects.filter(account_id__in=ids, active=True).update(switched_off=False)
    Event.objects.filter(
        Q(account_id__in=ids),
        kind=Event.Kind.DISCONNECT,
        status__in=(Event.Status.AWAITING_APPROVAL, Event.Status.APPROVED),
    ).update(status=Event.Status.REJECTED, detail="已缴费，无需停电 (paid: no disconnection)")
    events = [
        Event(
            account_id=f.account_id,
            day=today,
            kind=Event.Kind.RECONNECT,
            remaining=f.remaining,
            reason="缴费后复电 (reconnected after a payment)",
            created_at=now,
            created_by=actor,
        )
        for f in again
    ]
    Event.objects.bulk_create(events)
    audit.bulk_record(
        actor,
        "ledger.prepaid_event",
        (
            {
                "object_type": "ledger.prepaidevent",
                "object_id": e.pk,
                "object_repr": f"{e.get_kind_display()} {e.day}",
                "after": {"account": e.account_id, "kind": e.kind, "remaining": e.remaining},
            }
            for e in events
        ),
    )
    dispatch_after_commit([e.pk for e in events])
    return events


def prepaid_summary(account: Account) -> dict[str, Any] | None:
    """The account detail card: the agreement, the latest estimate and the last events (None: not prepaid)."""
    agreement = PrepaidAgreement.objects.filter(account=account, active=True).first()
    if agreement is None:
        return None
    return {
        "agreement": agreement,
        "estimate": PrepaidEstimate.objects.filter(account=account).order_by("-day").first(),
        "events": list(Event.objects.filter(account=account).order_by("-created_at", "-id")[:10]),
    }
