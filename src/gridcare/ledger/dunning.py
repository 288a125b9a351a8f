"""Dunning → disconnection → reconnection (催费·停电·复电), wired to the pure ladder of :mod:`gridcare.engine.dunning`.

The state of every account in arrears is read set-based (overdue arrears and the oldest due date per account, the
open :class:`DunningCase`, class, importance, credit grade — a few queries), the engine's ``next_steps`` says over
arrays what each account's next step is and when it is allowed, and:

- the job (:func:`do_run_dunning`, ``gridcare ledger dunning``, Celery beat) does the automatic steps: opens cases
  and sends the **reminders** (催费提醒, through ``outbound.message_sender()``, recorded in a step), closes the cases
  whose arrears were **settled** before a disconnection; two copies at once run once (job lock; one open case per
  account and each step once per case are unique constraints);
- the collector does the human steps on the 催费工作台: **ask for the disconnection approval** (重要用户: the manager,
  with ``disconnection.approve_important``), **issue the 停电通知书** (PDF) and **record its delivery** (who, how, when —
  the notice period runs from the delivery), **order the disconnection** when the engine allows it (> 30 days
  overdue, chased, notice period over, within the disconnection hours): the 30-minute reminder is sent and a
  disconnection work order goes to the service desk, or a remote command to a smart meter;
- a payment that clears the overdue arrears of a disconnected account **reconnects it inside the payment action**
  (:func:`reconnect_paid`): the reconnection work order (复电, 24 h clock) or the remote command is created in the
  same transaction as the payment, so it can never be lost between the two.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import F, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from gridcare.core import audit
from gridcare.core.access import get_in_scope, has_perm
from gridcare.core.actions import action
from gridcare.core.calendar import get_calendar
from gridcare.core.errors import Conflict, InvalidInput, PermissionRefused
from gridcare.core.locks import job_lock
from gridcare.customers.models import Account, Contact, ServicePoint
from gridcare.engine import dunning as engine
from gridcare.engine.sla import WorkingHours
from gridcare.ledger import outbound, posting
from gridcare.ledger.conf import conf
from gridcare.ledger.models import DunningCase, DunningStep, Entry
from gridcare.org.models import User

JOB = "ledger.dunning"
DEBITS = (Entry.Kind.CHARGE, Entry.Kind.CORRECTION, Entry.Kind.LATE_FEE)


# --- rules as data ---------------------------------------------------------------------------------------------


def _hours(value: Any) -> WorkingHours:
    start, end = (time.fromisoformat(str(v)) for v in value)
    return WorkingHours(start, end)


def settings_() -> engine.DunningSettings:
    return engine.DunningSettings(
        contact_hours=_hours(conf("DUNNING_CONTACT_HOURS")),
        disconnect_hours=_hours(conf("DISCONNECT_HOURS")),
        disconnect_on_days_off=bool(conf("DISCONNECT_ON_DAYS_OFF")),
        pre_disconnection_reminder_minutes=int(conf("PRE_DISCONNECTION_REMINDER_MINUTES")),
        reconnect_within_hours=int(conf("RECONNECT_WITHIN_HOURS")),
    )


def ladder() -> engine.DunningLadder:
    """The ladder per customer class from ``DUNNING_LADDER``, plus one rule per (class, credit grade) named in
    ``NOTICE_DAYS_BY_GRADE`` (key ``"class|grade"``) with the notice period moved by the grade's days."""
    data = dict(conf("DUNNING_LADDER"))
    default = engine.DunningRule(**data.pop("default", {}))
    classes = {name: engine.DunningRule(**{**default.__dict__, **fields}) for name, fields in data.items()}
    by_grade = {str(k): int(v) for k, v in dict(conf("NOTICE_DAYS_BY_GRADE")).items()}
    for grade, delta in by_grade.items():
        for name in [*ServicePoint.CustomerClass.values]:
            base = classes.get(name, default)
            notice = min(max(base.notice_days + delta, 0), base.disconnect_after_days + 1)
            classes[f"{name}|{grade}"] = engine.DunningRule(**{**base.__dict__, "notice_days": notice})
    return engine.DunningLadder(classes=classes, default=default)


def credit_grades(account_ids: list[int]) -> dict[int, str]:
    """The customer credit grade (A/B/C/D) of the accounts from the ``CREDIT_GRADE_SOURCE`` hook; {} without one."""
    source = str(conf("CREDIT_GRADE_SOURCE") or "")
    if not source or not account_ids:
        return {}
    grades = import_string(source)(account_ids)
    return {int(k): str(v) for k, v in dict(grades).items()}


# --- the state of the accounts, set-based ----------------------------------------------------------------------


@dataclass
class Standing:
    """What the ladder knows of each account (parallel lists) and what the engine says of it."""

    account_ids: list[int]
    arrears: list[Decimal]
    overdue_days: list[int]
    cases: dict[int, DunningCase]
    steps: engine.DunningSteps

    def at(self, account_id: int) -> int:
        return self.account_ids.index(account_id)


def _epoch(moment: dt.datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else -1


def _moment(seconds: int) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC) if seconds >= 0 else None


def standing(account_ids: list[int] | None = None, now: dt.datetime | None = None) -> Standing:
    """The overdue arrears of the accounts (all accounts in arrears or with an open case, or those given) and the
    engine's next step for each: one aggregate over the open debits, one over the cases, one over the service
    points, one engine call."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    debits = Entry.objects.filter(kind__in=DEBITS, amount__gt=0, due_date__lt=today)
    cases_q = DunningCase.objects.filter(status=DunningCase.Status.OPEN)
    if account_ids is not None:
        debits = debits.filter(account_id__in=account_ids)
        cases_q = cases_q.filter(account_id__in=account_ids)
    left = F("amount") - Coalesce(posting._allocated("in"), Value(posting.ZERO), output_field=posting._MONEY)
    rows = {
        r["account_id"]: r
        for r in debits.annotate(left=left)
        .filter(left__gt=0)
        .values("account_id")
        .annotate(arrears=Sum("left"), oldest=Min("due_date"))
        .order_by()
    }
    cases = {c.account_id: c for c in cases_q}
    ids = sorted(set(rows) | set(cases))
    first_point = ServicePoint.objects.filter(account_id=OuterRef("pk")).order_by("pk")
    info: dict[int, dict[str, Any]] = {
        a["pk"]: dict(a)
        for a in Account.objects.filter(pk__in=ids)
        .annotate(
            customer_class=Subquery(first_point.values("customer_class")[:1]),
            important=Subquery(first_point.filter(is_important=True).values("is_important")[:1]),
        )
        .values("pk", "customer_class", "important")
    }
    grades = credit_grades(ids)
    plans = plans_in_force(ids)
    rules = ladder()
    names = []
    for account_id in ids:
        name = str(info.get(account_id, {}).get("customer_class") or "")
        graded = f"{name}|{grades.get(account_id, '')}"
        names.append(graded if graded in rules.classes else name)
    arrears = [
        Decimal(str(rows[a]["arrears"])).quantize(posting.CENT) if a in rows else posting.ZERO for a in ids
    ]
    overdue = [(today - rows[a]["oldest"]).days if a in rows else 0 for a in ids]
    steps = engine.next_steps(
        int(now.timestamp()),
        rules.codes(names) if ids else np.zeros(0, np.int64),
        np.array(overdue, dtype=np.int64),
        np.array([int(v * 100) for v in arrears], dtype=np.int64),
        np.array([cases[a].last_step if a in cases else 0 for a in ids], dtype=np.int64),
        np.array([_epoch(cases[a].last_step_at) if a in cases else -1 for a in ids], dtype=np.int64),
        np.array([bool(info.get(a, {}).get("important")) for a in ids], dtype=np.bool_),
        np.array([a in plans for a in ids], dtype=bool),
        np.array([_epoch(cases[a].settled_at) if a in cases else -1 for a in ids], dtype=np.int64),
        get_calendar(),
        rules,
        settings_(),
    )
    return Standing(ids, arrears, overdue, cases, steps)


def plans_in_force(account_ids: list[int]) -> set[int]:
    """Accounts with a payment plan in force (灵活付款方案): dunning suspended; a disconnected one is reconnected."""
    from gridcare.ledger.models import PaymentPlan

    return set(
        PaymentPlan.objects.filter(
            account_id__in=account_ids, status=PaymentPlan.Status.IN_FORCE
        ).values_list("account_id", flat=True)
    )


# --- the job --------------------------------------------------------------------------------------------------


def _phones(account_ids: list[int]) -> dict[int, str]:
    rows = (
        Contact.objects.filter(customer__accounts__pk__in=account_ids)
        .order_by("-is_primary", "pk")
        .values_list("customer__accounts__pk", "mobile")
    )
    found: dict[int, str] = {}
    for account_id, mobile in rows:
        found.setdefault(account_id, mobile or "")
    return found


def _reminder_text(number: str, arrears: Decimal, days: int) -> str:
    return f"【供电公司】尊敬的客户，您的户号{number}电费已逾期{days}天，欠费{arrears}元（含违约金），请尽快缴纳。"


def _send_reminders(actor: User, state: Standing, targets: list[int], now: dt.datetime) -> int:
    """Open cases where needed, send one reminder per account, record the steps and move the cases (bulk)."""
    new = [DunningCase(account_id=a, opened_at=now) for a in targets if a not in state.cases]
    DunningCase.objects.bulk_create(new, batch_size=5000)
    cases = {c.account_id: c for c in DunningCase.objects.filter(account_id__in=targets, status="open")}
    numbers = dict(Account.objects.filter(pk__in=targets).values_list("pk", "number"))
    phones = _phones(targets)
    sender = outbound.message_sender()
    steps = []
    for account_id in targets:
        i = state.at(account_id)
        arrears, days = state.arrears[i], state.overdue_days[i]
        to = phones.get(account_id, "")
        answer = sender.send(
            outbound.Message(
                numbers[account_id], "sms", to, _reminder_text(numbers[account_id], arrears, days)
            )
        )
        steps.append(
            DunningStep(
                case=cases[account_id],
                kind=DunningStep.Kind.REMINDER,
                at=now,
                by=actor,
                channel="sms",
                recipient=to,
                arrears=arrears,
                overdue_days=days,
                outcome=f"{'已受理' if answer.accepted else '未受理'} {answer.reference} {answer.detail}".strip()[
                    :200
                ],
            )
        )
    DunningStep.objects.bulk_create(steps, batch_size=5000)
    DunningCase.objects.filter(pk__in=[c.pk for c in cases.values()]).update(
        last_step=engine.REMINDER, last_step_at=now
    )
    audit.bulk_record(
        actor,
        "ledger.dunning_reminder",
        (
            {
                "object_type": "ledger.dunningcase",
                "object_id": cases[s.case.account_id].pk,
                "object_repr": numbers[s.case.account_id],
                "after": {"arrears": s.arrears, "overdue_days": s.overdue_days, "to": s.recipient},
            }
            for s in steps
        ),
    )
    return len(steps)


def _close_settled(actor: User, state: Standing, targets: list[int], now: dt.datetime) -> int:
    cases = [state.cases[a] for a in targets if a in state.cases]
    DunningStep.objects.bulk_create(
        [DunningStep(case=c, kind=DunningStep.Kind.SETTLED, at=now, by=actor) for c in cases]
    )
    DunningCase.objects.filter(pk__in=[c.pk for c in cases]).update(
        status=DunningCase.Status.CLOSED, closed_at=now, settled_at=now
    )
    audit.bulk_record(
        actor,
        "ledger.dunning_settled",
        ({"object_type": "ledger.dunningcase", "object_id": c.pk, "object_repr": str(c.pk)} for c in cases),
    )
    return len(cases)


@dataclass
class DunningRun:
    reminders: int = 0
    settled: int = 0
    reconnected: int = 0
    #: the human steps due now (approval, notice, disconnection) for the collectors' workbench, by step name
    due: dict[str, int] | None = None


@action(JOB, permission="arrears.dun")
def do_run_dunning(actor: User, *, dry_run: bool = False, now: dt.datetime | None = None) -> DunningRun:
    """催费任务 — the ladder over all accounts at once: reminders sent, settled cases closed, disconnected accounts
    that paid reconnected (if a payment did not already); the human steps due are counted for the workbench.
    ``dry_run``: only the counts, nothing written (the audit row says so)."""
    now = now or timezone.now()
    with job_lock(JOB):
        state = standing(now=now)
        step, due, reason = state.steps.step, state.steps.due_now, state.steps.reason
        ids = np.array(state.account_ids, dtype=np.int64)
        remind = [int(a) for a in ids[(step == engine.REMINDER) & due]]
        settled = [int(a) for a in ids[reason == engine.SETTLED]]
        reconnect = [int(a) for a in ids[(step == engine.RECONNECT) & due]]
        human = Counter(
            engine.STEP_NAMES[int(s)]
            for s in step[due & np.isin(step, [engine.APPROVAL, engine.NOTICE, engine.DISCONNECT])]
        )
        run = DunningRun(len(remind), len(settled), len(reconnect), dict(human))
        if not dry_run:
            posting.lock_accounts(remind + settled + reconnect)
            run.reminders = _send_reminders(actor, state, remind, now) if remind else 0
            run.settled = _close_settled(actor, state, settled, now) if settled else 0
            run.reconnected = reconnect_paid(actor, reconnect, now=now) if reconnect else 0
    audit.record(
        actor,
        JOB,
        object_type="ledger.dunningcase",
        object_id="*",
        object_repr=f"催费 {run.reminders} 户提醒，{run.settled} 户结案，{run.reconnected} 户复电",
        after={"dry_run": dry_run, **run.__dict__},
    )
    return run


# --- the human steps ------------------------------------------------------------------------------------------


def _case(actor: User, case_id: int) -> DunningCase:
    case = get_in_scope(
        DunningCase.objects.select_for_update(of=("self",)).select_related("account"),
        actor,
        write=True,
        pk=case_id,
    )
    if case.status != DunningCase.Status.OPEN:
        raise Conflict(f"催费案件 {case.pk} 已结案。 (The dunning case is closed.)")
    return case


def _expect(case: DunningCase, wanted: int, now: dt.datetime) -> tuple[Standing, int]:
    state = standing([case.account_id], now=now)
    i = state.at(case.account_id)
    step = int(state.steps.step[i])
    if step != wanted:
        raise Conflict(
            f"户号 {case.account.number} 的下一步是「{engine.STEP_NAMES[step]}」"
            f"（{engine.REASON_NAMES[int(state.steps.reason[i])]}），不是「{engine.STEP_NAMES[wanted]}」。"
            " (Not the next step of this account.)"
        )
    if not bool(state.steps.due_now[i]):
        when = _moment(int(state.steps.act_at[i]))
        raise Conflict(
            f"「{engine.STEP_NAMES[step]}」最早于 {timezone.localtime(when):%Y-%m-%d %H:%M} 可以进行。"
            " (Not allowed yet.)"
            if when
            else "此步骤现在不能进行。 (Not allowed now.)"
        )
    return state, i


#: the audit action of each step kind
STEP_AUDIT = {
    DunningStep.Kind.REMINDER: "ledger.dunning_reminder",
    DunningStep.Kind.APPROVAL_ASKED: "ledger.dunning_approval_asked",
    DunningStep.Kind.APPROVED: "ledger.dunning_approved",
    DunningStep.Kind.REJECTED: "ledger.dunning_rejected",
    DunningStep.Kind.NOTICE: "ledger.dunning_notice",
    DunningStep.Kind.DELIVERED: "ledger.dunning_delivered",
    DunningStep.Kind.AUTHORITY: "ledger.dunning_authority",
    DunningStep.Kind.PRE_REMINDER: "ledger.dunning_pre_reminder",
    DunningStep.Kind.DISCONNECTED: "ledger.dunning_disconnected",
    DunningStep.Kind.RECONNECTED: "ledger.dunning_reconnected",
    DunningStep.Kind.SETTLED: "ledger.dunning_settled",
}


def _step(
    case: DunningCase, actor: User, kind: str, state: Standing | None = None, **fields: Any
) -> DunningStep:
    if DunningStep.objects.filter(case=case, kind=kind).exists():
        raise Conflict(
            f"本案件已有「{DunningStep.Kind(kind).label}」。 (This step was done already in this case.)"
        )
    if state is not None:
        i = state.at(case.account_id)
        fields.setdefault("arrears", state.arrears[i])
        fields.setdefault("overdue_days", state.overdue_days[i])
    step = DunningStep(case=case, kind=kind, by=actor, **fields)
    step.save()
    audit.record(
        actor,
        STEP_AUDIT[DunningStep.Kind(kind)],
        case,
        after={"step": kind, **{k: v for k, v in fields.items() if k != "at"}},
    )
    return step


def _reason_text(text: str) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput({"reason": "请填写原因。 (A reason is required.)"})
    return value[:200]


@action("ledger.request_disconnection", permission="disconnection.request")
def do_request_disconnection(actor: User, case_id: int, *, reason: str) -> DunningStep:
    """申请停电 — after the reminder, for an account still in arrears; decided by someone with
    ``disconnection.approve`` (an important customer: ``disconnection.approve_important``, the manager)."""
    text = _reason_text(reason)
    now = timezone.now()
    case = _case(actor, case_id)
    if case.approval_pending:
        raise Conflict("停电审批已提交，等待审批。 (The approval is pending already.)")
    state, _ = _expect(case, engine.APPROVAL, now)
    step = _step(case, actor, DunningStep.Kind.APPROVAL_ASKED, state, at=now, note=text)
    case.approval_pending = True
    case.important = bool(state.steps.notify_authority[state.at(case.account_id)]) or _important(
        case.account_id
    )
    case.save(update_fields=["approval_pending", "important"])
    return step


def _important(account_id: int) -> bool:
    return ServicePoint.objects.filter(account_id=account_id, is_important=True).exists()


@action("ledger.decide_disconnection", permission="disconnection.approve")
def do_decide_disconnection(actor: User, case_id: int, *, approve: bool, note: str = "") -> DunningStep:
    """停电审批 — not by the requester; an important customer (重要用户) needs ``disconnection.approve_important``.
    Refused: the case is closed (a new one opens if the arrears stay)."""
    now = timezone.now()
    case = _case(actor, case_id)
    if not case.approval_pending:
        raise Conflict("没有待审批的停电申请。 (No disconnection approval is pending.)")
    asked = DunningStep.objects.get(case=case, kind=DunningStep.Kind.APPROVAL_ASKED)
    if asked.by_id == actor.pk:
        raise PermissionRefused("不能审批自己的申请。 (You cannot approve your own request.)")
    if _important(case.account_id) and not has_perm(actor, "disconnection.approve_important"):
        raise PermissionRefused(
            "重要用户停电须由营销服务部经理审批（审批重要用户停电权限）。"
            " (An important customer's disconnection needs disconnection.approve_important.)"
        )
    kind = DunningStep.Kind.APPROVED if approve else DunningStep.Kind.REJECTED
    step = _step(case, actor, kind, at=now, outcome=(note or "").strip()[:200])
    case.approval_pending = False
    if approve:
        case.last_step, case.last_step_at = engine.APPROVAL, now
    else:
        case.status, case.closed_at = DunningCase.Status.CLOSED, now
    case.save(update_fields=["approval_pending", "last_step", "last_step_at", "status", "closed_at"])
    return step


@action("ledger.issue_notice", permission="arrears.dun")
def do_issue_notice(actor: User, case_id: int) -> DunningStep:
    """停电通知书 — issued when the engine says the notice is due (after approval where needed); for an important
    customer the authority is notified at the same time (recorded). Its PDF: :func:`notice_pdf`."""
    now = timezone.now()
    case = _case(actor, case_id)
    state, i = _expect(case, engine.NOTICE, now)
    step = _step(case, actor, DunningStep.Kind.NOTICE, state, at=now)
    if _important(case.account_id):
        _step(case, actor, DunningStep.Kind.AUTHORITY, state, at=now, recipient=str(conf("AUTHORITY_NAME")))
    return step


@action("ledger.record_delivery", permission="arrears.dun")
def do_record_delivery(
    actor: User, case_id: int, *, how: str, recipient: str, at: dt.datetime | None = None
) -> DunningStep:
    """送达 — the notice's delivery: how (当面/留置/邮寄/短信), to whom, when (not in the future, not before the notice
    was issued). The notice period runs from it."""
    now = timezone.now()
    case = _case(actor, case_id)
    if how not in DunningStep.Delivery.values:
        raise InvalidInput(
            {"how": f"送达方式须为 当面/留置/邮寄/短信，收到「{how}」。 (Unknown delivery method.)"}
        )
    who = (recipient or "").strip()
    if not who:
        raise InvalidInput({"recipient": "请填写签收人或送达对象。 (Who received the notice?)"})
    notice = DunningStep.objects.filter(case=case, kind=DunningStep.Kind.NOTICE).first()
    if notice is None:
        raise Conflict("尚未出具停电通知书。 (The notice was not issued yet.)")
    when = at or now
    if when > now or when < notice.at:
        raise InvalidInput({"at": "送达时间须在出具通知书之后、不晚于现在。 (Between the notice and now.)"})
    step = _step(case, actor, DunningStep.Kind.DELIVERED, at=when, channel=how, recipient=who[:100])
    case.last_step, case.last_step_at = engine.NOTICE, when
    case.save(update_fields=["last_step", "last_step_at"])
    return step


def _meter(account_id: int) -> Any:
    from gridcare.metering.models import Meter

    return (
        Meter.objects.filter(service_point__account_id=account_id, status="installed").order_by("pk").first()
    )


def _remote_capable(meter: Any) -> bool:
    return meter is not None and meter.kind in list(conf("REMOTE_SWITCH_METER_KINDS"))


def _work_order(account: Account, sub_type: str, title: str, description: str) -> Any:
    from gridcare.org.selectors import system_actor
    from gridcare.service.actions import do_create_order

    return do_create_order(
        system_actor(),
        order_type="application",
        sub_type=sub_type,
        account=account.pk,
        title=title,
        description=description,
        contact_from_customer=True,
    )


@action("ledger.disconnect", permission="disconnection.request")
def do_disconnect(actor: User, case_id: int, *, how: str = "field") -> DunningStep:
    """停电 — only when the engine allows it now (> 30 days overdue, chased, notice period over, approval given,
    within the disconnection hours): the reminder 30 minutes before (sent now, naming the time) and a
    disconnection work order to the service desk (``field``) or a remote command to a smart meter (``remote``)."""
    now = timezone.now()
    case = _case(actor, case_id)
    if how not in ("field", "remote"):
        raise InvalidInput({"how": "停电方式须为 field（现场）或 remote（远程）。 (field or remote.)"})
    state, i = _expect(case, engine.DISCONNECT, now)
    minutes = int(conf("PRE_DISCONNECTION_REMINDER_MINUTES"))
    planned = now + dt.timedelta(minutes=minutes)
    number = case.account.number
    phone = _phones([case.account_id]).get(case.account_id, "")
    text = (
        f"【供电公司】户号{number}欠费{state.arrears[i]}元，将于{timezone.localtime(planned):%H:%M}依法停电，"
        "缴清欠费后24小时内复电。"
    )
    answer = outbound.message_sender().send(outbound.Message(number, "sms", phone, text))
    _step(
        case,
        actor,
        DunningStep.Kind.PRE_REMINDER,
        state,
        at=now,
        channel="sms",
        recipient=phone,
        outcome=("已受理 " if answer.accepted else "未受理 ") + answer.detail,
    )
    order = None
    if how == "remote":
        meter = _meter(case.account_id)
        if not _remote_capable(meter):
            raise InvalidInput(
                {"how": "该户电能表不支持远程停电，请派现场工单。 (The meter takes no remote command.)"}
            )
        result = outbound.remote_switch().send(
            outbound.SwitchCommand(meter.asset_no, "disconnect", f"dunning-{case.pk}@{planned:%Y%m%d%H%M}")
        )
        if not result.accepted:
            raise Conflict(f"主站拒绝远程停电：{result.detail} (The head-end refused the command.)")
        outcome = f"远程停电 {result.reference} 计划 {timezone.localtime(planned):%H:%M}"
    else:
        order = _work_order(
            case.account,
            "disconnection",
            f"欠费停电 {number}",
            f"欠费 {state.arrears[i]} 元，逾期 {state.overdue_days[i]} 天；通知已送达；"
            f"计划停电时间 {timezone.localtime(planned):%Y-%m-%d %H:%M}。",
        )
        outcome = f"停电工单 {order.number} 计划 {timezone.localtime(planned):%H:%M}"
    step = _step(
        case,
        actor,
        DunningStep.Kind.DISCONNECTED,
        state,
        at=now,
        channel=how,
        work_order=order,
        outcome=outcome,
    )
    case.last_step, case.last_step_at = engine.DISCONNECT, now
    case.save(update_fields=["last_step", "last_step_at"])
    return step


def reconnect_paid(actor: User, account_ids: list[int], *, now: dt.datetime | None = None) -> int:
    """复电 — the disconnected accounts among ``account_ids`` whose overdue arrears are now cleared: a reconnection
    work order on the service desk's 复电 clock (24 h) or a remote command if it was disconnected remotely; the case
    closes. Called inside the payment actions (same transaction) and by the dunning job."""
    now = now or timezone.now()
    cases = list(
        DunningCase.objects.select_related("account").filter(
            account_id__in=account_ids, status=DunningCase.Status.OPEN, last_step=engine.DISCONNECT
        )
    )
    if not cases:
        return 0
    state = standing([c.account_id for c in cases], now=now)
    done = 0
    for case in cases:
        i = state.at(case.account_id)
        if int(state.steps.step[i]) != engine.RECONNECT:
            continue
        cut = DunningStep.objects.filter(case=case, kind=DunningStep.Kind.DISCONNECTED).first()
        order = None
        if cut is not None and cut.channel == "remote":
            meter = _meter(case.account_id)
            result = outbound.remote_switch().send(
                outbound.SwitchCommand(meter.asset_no if meter else "", "reconnect", f"dunning-{case.pk}")
            )
            outcome = f"远程复电 {'已受理' if result.accepted else '未受理'} {result.reference}"
            if not result.accepted:  # the head-end refused: the field does it, on the same 24 h clock
                order = _work_order(case.account, "reconnection", f"复电 {case.account.number}", outcome)
        else:
            order = _work_order(
                case.account,
                "reconnection",
                f"复电 {case.account.number}",
                f"欠费已结清（{timezone.localtime(now):%Y-%m-%d %H:%M}），须在24小时内复电。",
            )
            outcome = f"复电工单 {order.number}"
        _step(
            case,
            actor,
            DunningStep.Kind.RECONNECTED,
            state,
            at=now,
            channel=cut.channel if cut else "field",
            work_order=order,
            outcome=outcome,
        )
        case.last_step, case.last_step_at = engine.RECONNECT, now
        case.status, case.closed_at, case.settled_at = DunningCase.Status.CLOSED, now, now
        case.save(update_fields=["last_step", "last_step_at", "status", "closed_at", "settled_at"])
        done += 1
    return done


# --- the notice PDF -------------------------------------------------------------------------------------------


def notice_pdf(case: DunningCase) -> bytes:
    """停电通知书 — the account, the arrears and overdue days at issue, the disconnection date not before the notice
    period, the legal basis, the delivery record if any (font embedded like the receipt)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    from gridcare.ledger.receipt import _font

    notice = DunningStep.objects.filter(case=case, kind=DunningStep.Kind.NOTICE).first()
    if notice is None:
        raise Conflict("尚未出具停电通知书。 (The notice was not issued yet.)")
    delivered = DunningStep.objects.filter(case=case, kind=DunningStep.Kind.DELIVERED).first()
    font = _font()
    title = ParagraphStyle("t", fontName=font, fontSize=18, leading=26, alignment=1)
    body = ParagraphStyle("b", fontName=font, fontSize=11, leading=18)
    rule = ladder()
    name = (
        ServicePoint.objects.filter(account_id=case.account_id)
        .values_list("customer_class", flat=True)
        .first()
    )
    days = rule.rules[int(rule.codes([str(name or "")])[0])].notice_days
    issued = timezone.localtime(notice.at)
    parts = [
        Paragraph("停电通知书", title),
        Spacer(1, 12),
        Paragraph(f"户号：{case.account.number}　户名：{case.account.name}", body),
        Paragraph(
            f"截至 {issued:%Y年%m月%d日}，贵户电费欠费 {notice.arrears} 元（含电费违约金），已逾期 {notice.overdue_days} 天，"
            "经催缴仍未交清。",
            body,
        ),
        Paragraph(
            f"依据《电力供应与使用条例》第三十九条及《供电营业规则》，请于本通知送达之日起 {days} 日内交清欠费；"
            f"逾期未交，供电企业将依法中止供电。缴清欠费后 {conf('RECONNECT_WITHIN_HOURS')} 小时内恢复供电。",
            body,
        ),
        Spacer(1, 12),
        Paragraph(f"出具：{notice.by.display_name}　{issued:%Y-%m-%d %H:%M}", body),
    ]
    if delivered is not None:
        parts.append(
            Paragraph(
                f"送达：{DunningStep.Delivery(delivered.channel).label}"
                f"　签收人：{delivered.recipient}　{timezone.localtime(delivered.at):%Y-%m-%d %H:%M}",
                body,
            )
        )
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"停电通知书 {case.account.number}").build(parts)
    return buffer.getvalue()


@action("ledger.send_reminders", permission="arrears.dun")
def do_send_reminders(actor: User, account_ids: list[int]) -> int:
    """催费提醒 (bulk, from the 催费工作台) — the chosen accounts in the collector's scope whose next step is the
    reminder and allowed now; any other account is refused by number, nothing is sent."""
    from gridcare.core.access import restrict

    wanted = sorted({int(a) for a in account_ids})
    if not wanted:
        raise InvalidInput({"accounts": "请选择户号。 (Choose the accounts.)"})
    scoped = set(
        restrict(Account.objects.filter(pk__in=wanted), actor, write=True).values_list("pk", flat=True)
    )
    now = timezone.now()
    posting.lock_accounts(scoped)
    state = standing(sorted(scoped), now=now)
    ready = {
        a
        for a, step, due in zip(state.account_ids, state.steps.step, state.steps.due_now, strict=True)
        if int(step) == engine.REMINDER and bool(due)
    }
    refused = [a for a in wanted if a not in ready]
    if refused:
        numbers = Account.objects.filter(pk__in=refused).values_list("number", flat=True)
        raise InvalidInput(
            {
                "accounts": f"以下户号现在不能发催费提醒（不在范围内、无逾期或已提醒）：{', '.join(numbers) or refused}。"
                " (Not due for a reminder now.)"
            }
        )
    return _send_reminders(actor, state, sorted(ready), now)


@dataclass
class Row:
    """One line of the 催费工作台."""

    account: Account
    arrears: Decimal
    overdue_days: int
    case: DunningCase | None
    step: int
    step_name: str
    reason: str
    due_now: bool
    act_at: dt.datetime | None
    notice: DunningStep | None = None

    @property
    def needs_delivery(self) -> bool:
        return self.notice is not None and self.case is not None and self.case.last_step < engine.NOTICE


def _chinese(name: str) -> str:
    """The engine's bilingual name without its English part, for the screens."""
    return name.split(" (")[0]


def worklist(user: User, *, limit: int = 500) -> list[Row]:
    """The accounts in the user's scope in arrears or with an open case: arrears, overdue days, next step."""
    from gridcare.core.access import restrict

    state = standing()
    accounts = restrict(Account.objects.filter(pk__in=state.account_ids), user).in_bulk()
    notices = {
        s.case_id: s
        for s in DunningStep.objects.filter(
            kind=DunningStep.Kind.NOTICE, case__status="open", case__account_id__in=accounts.keys()
        )
    }
    rows = []
    for i, account_id in enumerate(state.account_ids):
        account = accounts.get(account_id)
        if account is None:
            continue
        case = state.cases.get(account_id)
        step = int(state.steps.step[i])
        rows.append(
            Row(
                account=account,
                arrears=state.arrears[i],
                overdue_days=state.overdue_days[i],
                case=case,
                step=step,
                step_name=_chinese(engine.STEP_NAMES[step]),
                reason=_chinese(engine.REASON_NAMES[int(state.steps.reason[i])]),
                due_now=bool(state.steps.due_now[i]),
                act_at=_moment(int(state.steps.act_at[i])),
                notice=notices.get(case.pk) if case else None,
            )
        )
    rows.sort(key=lambda r: (not r.due_now, -r.overdue_days))
    return rows[:limit]
