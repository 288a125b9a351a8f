"""Decisions on the exception queue (异常处理): accept, correct, order a re-read, estimate — and the approval of
an estimate by another person. Each one audited; a read returns to billing only when nothing blocks it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput, InvalidTransition, PermissionRefused
from gridcare.engine import vee
from gridcare.engine.money import QTY_DEC, scaled_to_decimal
from gridcare.org.models import User
from gridcare.readings.actions.capture import CleanRecord, MeterInfo, TaskInfo, parse_value, store_reads
from gridcare.readings.actions.validation import history_frame, open_blocking
from gridcare.readings.conf import ENGINE_REGISTERS
from gridcare.readings.models import MeterRead, ReadException, ReadingTask
from gridcare.readings.periods import parse_period

#: what an estimate may be based on here (interval-based estimates need the interval store's totals)
ESTIMATION_METHODS = ("same_period_last_year", "average_last_three")
EXCEPTION_FIELDS = ["status", "reason", "decided_by_id"]


def _reason(reason: str) -> str:
    if not (reason or "").strip():
        raise InvalidInput({"reason": "请填写原因。 (A reason is required.)"})
    return reason.strip()[:200]


def _open(actor: User, exception: ReadException) -> ReadException:
    get_in_scope(ReadException.objects.all(), actor, write=True, pk=exception.pk)
    locked = (
        ReadException.objects.select_for_update(of=("self",))
        .select_related("read__meter", "task")
        .get(pk=exception.pk)
    )
    if locked.status != ReadException.Status.OPEN:
        raise InvalidTransition(locked.get_status_display(), "decide", [])
    return locked


def _close(
    actor: User, exception: ReadException, status: str, reason: str, action_code: str, **after: Any
) -> None:
    """Close the exception (and the other open exceptions of the same read with it when the read is replaced)."""
    exception.status = status
    exception.reason = reason
    exception.decided_by = actor if actor.pk else None
    exception.decided_at = timezone.now()
    exception.save(update_fields=["status", "reason", "decided_by", "decided_at", "estimate"])
    audit.record(
        actor,
        action_code,
        exception,
        before={"status": ReadException.Status.OPEN},
        after={"status": status, "reason": reason, **after},
    )


def _release(read: MeterRead | None) -> None:
    """A held read whose blocking exceptions are all decided is billable again; its task is validated."""
    if read is None or read.status != MeterRead.Status.HELD or read.pk in open_blocking([read.pk]):
        return
    read.status = MeterRead.Status.VALID
    read.save(update_fields=["status"])
    if read.task_id is not None:
        ReadingTask.objects.filter(pk=read.task_id).update(status=ReadingTask.Status.VALIDATED)


def _supersede(
    read: MeterRead | None, exception: ReadException, status: str, reason: str, actor: User
) -> None:
    """The read is replaced: it leaves billing and its other open exceptions close with the same decision."""
    if read is None:
        return
    read.status = MeterRead.Status.SUPERSEDED
    read.save(update_fields=["status"])
    others = ReadException.objects.filter(read=read, status=ReadException.Status.OPEN).exclude(
        pk=exception.pk
    )
    others.update(
        status=status, reason=reason, decided_by=actor if actor.pk else None, decided_at=timezone.now()
    )


#: VEE rules whose read is a metering fault, not consumption (倒走): it is never billed as it stands
METERING_FAULTS = ("reverse_running",)
#: what accepting a reverse-running read means: before the decision's reason, and in full on the work order
BASELINE_REASON = "倒走，按零电量确认为新起度，待退补："
BASELINE_NOTE = (
    "表计倒走：按零电量确认为新起度，本期倒走电量不计费，待计量校验或换表后核定退补。"
    " (Reverse running: accepted as the new baseline with zero consumption; back-billing after the meter test.)"
)


def _is_metering_fault(exception: ReadException) -> bool:
    read = exception.read
    negative = read is not None and read.quantity is not None and read.quantity < 0
    return exception.rule in METERING_FAULTS or negative


@action("readings.accept_exception", permission="reading.review")
def do_accept_exception(actor: User, exception: ReadException, *, reason: str) -> ReadException:
    """确认 — the read is right as it is (e.g. a real rollover, a real surge); it is billable again.

    A reverse-running read (倒走, or any read whose consumption came out negative) is a metering fault, never
    consumption: accepting it makes the read the register's **new baseline with zero consumption** for the
    period (the next read is measured from it), says so in the decision, and raises a meter-fault work order
    (计量故障) so the meter is tested or exchanged and the period back-billed (退补) from the result. The
    alternatives stay open on the queue: correct the value, estimate, or order a re-read."""
    reason = _reason(reason)
    exception = _open(actor, exception)
    read = exception.read
    if read is not None and _is_metering_fault(exception):
        withheld = read.quantity
        read.quantity = Decimal(0)
        read.save(update_fields=["quantity"])
        note = f"{BASELINE_REASON}{reason}"[:200]
        _close(
            actor,
            exception,
            ReadException.Status.ACCEPTED,
            note,
            "readings.accept_exception",
            baseline=True,
            withheld_quantity=withheld,
        )
        _meter_fault_order(read, reason)
    else:
        _close(actor, exception, ReadException.Status.ACCEPTED, reason, "readings.accept_exception")
    _release(read)
    return exception


def _meter_fault_order(read: MeterRead, reason: str) -> None:
    """A meter-fault work order (计量故障) for the point unless one is already open (the reader's own report)."""
    from gridcare.org.selectors import system_actor
    from gridcare.service.actions import do_create_order
    from gridcare.service.choices import OPEN_STATUSES, Channel, OrderType, SubType
    from gridcare.service.models import WorkOrder

    open_orders = WorkOrder.objects.filter(
        service_point_id=read.service_point_id, sub_type=SubType.METER_FAULT, status__in=OPEN_STATUSES
    )
    if open_orders.exists():
        return
    do_create_order(
        system_actor(),
        order_type=OrderType.APPLICATION,
        sub_type=SubType.METER_FAULT,
        channel=Channel.ONSITE,
        service_point=read.service_point_id,
        title=f"表计倒走：电能表 {read.meter.asset_no} 待校验或换表"[:120],
        description=f"{BASELINE_NOTE} 处理意见：{reason}",
    )


@action("readings.correct_exception", permission="reading.review")
def do_correct_exception(actor: User, exception: ReadException, *, value: Any, reason: str) -> MeterRead:
    """修正 — a new read (source manual) replaces the questioned one and goes through the same checks."""
    reason = _reason(reason)
    exception = _open(actor, exception)
    old = exception.read
    if old is None:
        raise InvalidInput(
            {"read": "该异常没有示数可修正，请安排补抄。 (No read to correct: order a re-read.)"}
        )
    clean, problem = parse_value(value, old.meter.register_digits)
    if clean is None:
        raise InvalidInput({"value": problem})
    _supersede(old, exception, ReadException.Status.CORRECTED, reason, actor)
    task = TaskInfo(old.task.pk, old.task.meter_id, old.task.register, old.task.period) if old.task else None
    item = CleanRecord(
        0,
        MeterInfo.of(old.meter),
        old.register,
        old.read_at,
        clean,
        old.condition,
        task,
        old.service_point_id,
    )
    (stored,) = store_reads(actor, [item], MeterRead.Source.MANUAL, supersedes={0: old.pk})
    assert stored.pk is not None  # inserted
    new = MeterRead.objects.get(pk=stored.pk)
    _close(
        actor,
        exception,
        ReadException.Status.CORRECTED,
        reason,
        "readings.correct_exception",
        old_value=old.value,
        new_value=clean,
        new_read=new.pk,
    )
    return new


@action("readings.order_reread", permission="reading.review")
def do_order_reread(actor: User, exception: ReadException, *, reason: str) -> ReadException:
    """补抄 — the reading task goes back to its route's reader; the questioned read leaves billing."""
    reason = _reason(reason)
    exception = _open(actor, exception)
    if exception.task_id is None:
        raise InvalidInput({"task": "该示数不属于抄表任务，无法派发补抄。 (The read has no reading task.)"})
    _supersede(exception.read, exception, ReadException.Status.REREAD_ORDERED, reason, actor)
    task = exception.task
    assert task is not None
    task.status = ReadingTask.Status.REREAD
    task.reader = task.route.reader
    task.save(update_fields=["status", "reader"])
    _close(
        actor, exception, ReadException.Status.REREAD_ORDERED, reason, "readings.order_reread", task=task.pk
    )
    return exception


@action("readings.estimate", permission="reading.review")
def do_estimate(actor: User, exception: ReadException, *, method: str, reason: str) -> MeterRead:
    """估抄 — an estimated read from the history (same period last year / average of the last three), flagged
    and held until another person with ``reading.approve_estimate`` approves it."""
    reason = _reason(reason)
    if method not in ESTIMATION_METHODS:
        raise InvalidInput({"method": f"未知估算方法「{method}」。 (Unknown estimation method.)"})
    exception = _open(actor, exception)
    old = exception.read
    if old is None or old.register not in ENGINE_REGISTERS:
        raise InvalidInput({"read": "没有可估算的示数，请安排补抄。 (Nothing to estimate: order a re-read.)"})
    keys = pl.DataFrame(
        {
            "account": [old.service_point_id],
            "register": [ENGINE_REGISTERS[old.register]],
            "period": [parse_period(old.period)],
        }
    )
    estimated = vee.estimate(keys, history_frame({old.service_point_id}), method).get_column("quantity")[0]
    if estimated is None:
        raise InvalidInput(
            {
                "method": "历史数据不足，无法估算，请安排补抄。 (Not enough history to estimate: order a re-read.)"
            }
        )
    quantity = scaled_to_decimal(int(estimated), QTY_DEC)
    start = old.value - (old.quantity or Decimal(0)) / old.multiplier if old.quantity is not None else None
    previous = (
        MeterRead.objects.filter(
            meter_id=old.meter_id,
            register=old.register,
            status=MeterRead.Status.VALID,
            read_at__lt=old.read_at,
        )
        .order_by("-read_at")
        .values_list("value", flat=True)
        .first()
    )
    base = previous if previous is not None else start
    if base is None:
        raise InvalidInput({"method": "没有上次示数，无法估算。 (No previous read to estimate from.)"})
    span = Decimal(10) ** old.meter.register_digits
    value = ((base + quantity / old.multiplier) % span).quantize(Decimal("0.01"))
    _supersede(old, exception, ReadException.Status.ESTIMATED, reason, actor)
    new = MeterRead.objects.create(
        meter=old.meter,
        register=old.register,
        read_at=old.read_at,
        value=value,
        source=MeterRead.Source.ESTIMATE,
        condition=old.condition,
        service_point_id=old.service_point_id,
        period=old.period,
        task=old.task,
        multiplier=old.multiplier,
        quantity=quantity,
        status=MeterRead.Status.ESTIMATED,
        supersedes=old,
        entered_by=actor if actor.pk else None,
    )
    if new.task_id is not None:
        ReadingTask.objects.filter(pk=new.task_id).update(status=ReadingTask.Status.ESTIMATED)
    exception.estimate = new
    _close(
        actor,
        exception,
        ReadException.Status.ESTIMATED,
        reason,
        "readings.estimate",
        method=method,
        quantity=quantity,
        estimate=new.pk,
    )
    return new


@action("readings.approve_estimate", permission="reading.approve_estimate")
def do_approve_estimate(actor: User, exception: ReadException, *, reason: str = "") -> MeterRead:
    """审批估抄 — another person than the one who estimated approves it; only then is it billable."""
    get_in_scope(ReadException.objects.all(), actor, write=True, pk=exception.pk)
    exception = ReadException.objects.select_for_update().get(pk=exception.pk)
    if exception.status != ReadException.Status.ESTIMATED or exception.estimate_id is None:
        raise InvalidTransition(exception.get_status_display(), "approve", [ReadException.Status.ESTIMATED])
    estimate = MeterRead.objects.select_for_update().get(pk=exception.estimate_id)
    if estimate.entered_by_id is not None and estimate.entered_by_id == actor.pk:
        raise PermissionRefused("估抄须由另一人审批。 (An estimate must be approved by another person.)")
    estimate.status = MeterRead.Status.VALID
    estimate.approved_by = actor
    estimate.save(update_fields=["status", "approved_by"])
    if estimate.task_id is not None:
        ReadingTask.objects.filter(pk=estimate.task_id).update(status=ReadingTask.Status.VALIDATED)
    exception.status = ReadException.Status.APPROVED
    exception.save(update_fields=["status"])
    audit.record(
        actor,
        "readings.approve_estimate",
        exception,
        before={"status": ReadException.Status.ESTIMATED},
        after={"status": ReadException.Status.APPROVED, "estimate": estimate.pk, "note": reason},
    )
    return estimate
