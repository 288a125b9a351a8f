"""Writes of the metering app (计量资产与装拆): register meters, install / replace / remove them with their
register reads, record on-site tests and move meters through test, stock and scrapping. Each one audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope
from gridcare.core.actions import action
from gridcare.core.calendar import add_working_days
from gridcare.core.errors import InvalidInput, InvalidTransition
from gridcare.core.queries import other_than
from gridcare.customers.models import ServicePoint
from gridcare.metering.conf import rules
from gridcare.metering.models import Installation, InstallationRead, Meter, OnSiteTest, Register
from gridcare.metering.rules import next_test_due, rotation_due
from gridcare.org.models import OrgUnit, User

METER_FIELDS = [
    "asset_no",
    "barcode",
    "manufacturer",
    "model_code",
    "kind",
    "accuracy_class",
    "phases",
    "rated_current",
    "register_digits",
    "registers",
    "ct_ratio",
    "pt_ratio",
    "status",
    "verified_on",
    "installed_on",
    "org_unit_id",
    "service_point_id",
    "next_test_due",
    "rotation_due",
    "replace_due",
]

# Which status changes :func:`do_change_meter_status` may make (install/remove have their own actions).
STATUS_MOVES: dict[str, set[str]] = {
    Meter.Status.IN_STOCK: {Meter.Status.UNDER_TEST, Meter.Status.SCRAPPED},
    Meter.Status.REMOVED: {Meter.Status.UNDER_TEST, Meter.Status.IN_STOCK, Meter.Status.SCRAPPED},
    Meter.Status.UNDER_TEST: {Meter.Status.IN_STOCK, Meter.Status.SCRAPPED},
    Meter.Status.INSTALLED: set(),
    Meter.Status.SCRAPPED: set(),
}


KINDS = frozenset(Meter.Kind.values)
ACCURACY_CLASSES = frozenset(Meter.AccuracyClass.values)
REGISTERS = frozenset(Register.values)


def _check_scope(actor: User, obj: Any) -> None:
    get_in_scope(type(obj)._default_manager.all(), actor, write=True, pk=obj.pk)


def validate_meter_fields(
    data: Mapping[str, Any], *, instance: Meter | None = None, today: dt.date | None = None
) -> dict[str, str]:
    """Field errors of meter asset data (shared by the action and the Excel import, which passes ``today``)."""
    errors: dict[str, str] = {}
    for field in ("asset_no", "barcode"):
        value = str(data.get(field) or "").strip()
        if field in data:
            if not value:
                errors[field] = "必填。 (Required.)"
            elif Meter.objects.filter(other_than(instance), **{field: value}).exists():
                errors[field] = f"「{value}」已存在。 (Already exists.)"
    for field in ("manufacturer", "model_code", "rated_current"):
        if field in data and not str(data[field] or "").strip():
            errors[field] = "必填。 (Required.)"
    if "kind" in data and data["kind"] not in KINDS:
        errors["kind"] = f"无效的表计类型「{data['kind']}」。 (Invalid meter kind.)"
    if "accuracy_class" in data and data["accuracy_class"] not in ACCURACY_CLASSES:
        errors["accuracy_class"] = f"无效的准确度等级「{data['accuracy_class']}」。 (Invalid accuracy class.)"
    if "phases" in data and data["phases"] not in (1, 3):
        errors["phases"] = "相数应为 1 或 3。 (Phases must be 1 or 3.)"
    if "register_digits" in data and not (
        isinstance(data["register_digits"], int) and 4 <= data["register_digits"] <= 10
    ):
        errors["register_digits"] = "计度器位数应在 4–10 之间。 (Register digits must be 4–10.)"
    if "registers" in data:
        registers = list(data["registers"] or [])
        bad = [r for r in registers if r not in REGISTERS]
        if not registers or Register.ACTIVE_TOTAL not in registers:
            errors["registers"] = "至少要有有功总计度器。 (The active total register is required.)"
        elif bad:
            errors["registers"] = f"未知的计度器：{', '.join(bad)}。 (Unknown registers.)"
    for field in ("ct_ratio", "pt_ratio"):
        if field in data and not (isinstance(data[field], int) and data[field] >= 1):
            errors[field] = "变比应为不小于 1 的整数。 (A ratio is a whole number of at least 1.)"
    verified = data.get("verified_on")
    if verified is not None and verified > (today or timezone.localdate()):
        errors["verified_on"] = "检定日期不能晚于今天。 (The verification date cannot be in the future.)"
    return errors


def _meter_dates(meter: Meter) -> None:
    """Recompute the plan dates of a meter from its class, installation, last test and verification."""
    klass = meter.service_point.metering_class if meter.service_point is not None else ""
    meter.rotation_due = rotation_due(meter.verified_on, meter.kind, meter.phases, rules())
    if meter.status == Meter.Status.INSTALLED:
        meter.next_test_due = next_test_due(meter.installed_on, meter.last_tested_on, klass, rules())
    else:
        meter.next_test_due = None
        meter.replace_due = None


@action("metering.register_meter", permission="meter.manage")
def do_register_meter(
    actor: User,
    *,
    asset_no: str,
    barcode: str,
    manufacturer: str,
    model_code: str,
    accuracy_class: str,
    phases: int,
    rated_current: str,
    org_unit: OrgUnit,
    kind: str = Meter.Kind.ELECTRONIC,
    register_digits: int = 6,
    registers: list[str] | None = None,
    ct_ratio: int = 1,
    pt_ratio: int = 1,
    verified_on: dt.date | None = None,
) -> Meter:
    """资产入库 — a new meter enters stock at a unit (normally the metering centre)."""
    data = {
        "asset_no": asset_no,
        "barcode": barcode,
        "manufacturer": manufacturer,
        "model_code": model_code,
        "kind": kind,
        "accuracy_class": accuracy_class,
        "phases": phases,
        "rated_current": rated_current,
        "register_digits": register_digits,
        "registers": registers if registers is not None else [Register.ACTIVE_TOTAL],
        "ct_ratio": ct_ratio,
        "pt_ratio": pt_ratio,
        "verified_on": verified_on,
    }
    errors = validate_meter_fields(data)
    if errors:
        raise InvalidInput(errors)
    _check_scope(actor, org_unit)
    meter = Meter(**{k: v.strip() if isinstance(v, str) else v for k, v in data.items()}, org_unit=org_unit)
    _meter_dates(meter)
    meter.save()
    audit.record(actor, "metering.register_meter", meter, after=audit.snapshot(meter, METER_FIELDS))
    return meter


def clean_reads(meter: Any, reads: Mapping[str, Any] | None, field: str) -> dict[str, Decimal]:
    """Every register of the meter needs a read, not negative and within the register's digits."""
    reads = dict(reads or {})
    errors: dict[str, str] = {}
    clean: dict[str, Decimal] = {}
    limit = Decimal(10) ** meter.register_digits
    unknown = sorted(set(reads) - set(meter.registers))
    for register in unknown:
        errors[f"{field}.{register}"] = "该表没有此计度器。 (The meter has no such register.)"
    for register in meter.registers:
        raw = reads.get(register)
        if raw is None or raw == "":
            label = Register(register).label
            errors[f"{field}.{register}"] = f"缺少「{label}」示数。 (A read of every register is required.)"
            continue
        try:
            value = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            errors[f"{field}.{register}"] = f"「{raw}」不是有效示数。 (Not a number.)"
            continue
        if not value.is_finite() or value < 0 or value >= limit:
            errors[f"{field}.{register}"] = (
                f"示数应在 0 与 {limit - 1} 之间（{meter.register_digits} 位计度器）。 (Read out of the register range.)"
            )
            continue
        clean[register] = value.quantize(Decimal("0.01"))
    if errors:
        raise InvalidInput(errors)
    return clean


def _install(
    actor: User, meter: Meter, point: ServicePoint, on: dt.date, reads: Mapping[str, Any], reason: str
) -> Installation:
    """装表: the checks and writes of an installation (the caller holds the locks and audits)."""
    if meter.status == Meter.Status.INSTALLED:
        where = meter.service_point.number if meter.service_point is not None else "—"
        raise InvalidInput(
            {"meter": f"电能表 {meter.asset_no} 已安装在用电地址 {where}。 (The meter is already installed.)"}
        )
    if meter.status != Meter.Status.IN_STOCK:
        raise InvalidInput(
            {
                "meter": f"电能表 {meter.asset_no} 状态为「{meter.get_status_display()}」，只能安装库存表。 (Only meters in stock can be installed.)"
            }
        )
    if meter.verified_on is None:
        raise InvalidInput({"meter": "电能表未检定，不能安装。 (The meter has no verification date.)"})
    expires = rotation_due(meter.verified_on, meter.kind, meter.phases, rules())
    if expires is not None and on >= expires:
        raise InvalidInput(
            {"meter": f"检定有效期已于 {expires:%Y-%m-%d} 届满。 (The verification has expired.)"}
        )
    if on < meter.verified_on:
        raise InvalidInput({"installed_on": "装表日期早于检定日期。 (Installed before it was verified.)"})
    if Installation.objects.filter(service_point=point, removed_on__isnull=True).exists():
        raise InvalidInput(
            {
                "service_point": f"用电地址 {point.number} 已装有电能表，请用换表。 (The service point already has a meter: replace it.)"
            }
        )
    clean = clean_reads(meter, reads, "initial_reads")
    installation = Installation.objects.create(
        meter=meter,
        service_point=point,
        installed_on=on,
        reason=reason,
        ct_ratio=meter.ct_ratio,
        pt_ratio=meter.pt_ratio,
        installed_by=actor if getattr(actor, "pk", None) else None,
    )
    InstallationRead.objects.bulk_create(
        InstallationRead(installation=installation, event=InstallationRead.Event.INSTALL, register=r, value=v)
        for r, v in clean.items()
    )
    meter.status = Meter.Status.INSTALLED
    meter.service_point = point
    meter.installed_on = on
    meter.org_unit = point.org_unit
    meter.last_tested_on = None
    meter.replace_due = None
    _meter_dates(meter)
    meter.save()
    return installation


def _remove(actor: User, meter: Meter, on: dt.date, reads: Mapping[str, Any], reason: str) -> Installation:
    """拆表: close the open installation with the final reads (the caller holds the locks and audits)."""
    installation = (
        Installation.objects.select_for_update().filter(meter=meter, removed_on__isnull=True).first()
        if meter.status == Meter.Status.INSTALLED
        else None
    )
    if installation is None:
        raise InvalidInput({"meter": f"电能表 {meter.asset_no} 未安装。 (The meter is not installed.)"})
    if on < installation.installed_on:
        raise InvalidInput(
            {
                "removed_on": f"拆表日期早于装表日期 {installation.installed_on:%Y-%m-%d}。 (Removed before installed.)"
            }
        )
    clean = clean_reads(meter, reads, "final_reads")
    installation.removed_on = on
    installation.removal_reason = reason
    installation.removed_by = actor if getattr(actor, "pk", None) else None
    installation.save(update_fields=["removed_on", "removal_reason", "removed_by"])
    InstallationRead.objects.bulk_create(
        InstallationRead(installation=installation, event=InstallationRead.Event.REMOVE, register=r, value=v)
        for r, v in clean.items()
    )
    meter.status = Meter.Status.REMOVED
    meter.service_point = None
    _meter_dates(meter)
    meter.save()
    return installation


def _locked(meter: Meter) -> Meter:
    return Meter.objects.select_for_update(of=("self",)).select_related("service_point").get(pk=meter.pk)


def _reads_audit(installation: Installation, event: str) -> dict[str, str]:
    return {r.register: str(r.value) for r in installation.reads.filter(event=event)}


@action("metering.install_meter", permission="meter.manage")
def do_install_meter(
    actor: User,
    meter: Meter,
    point: ServicePoint,
    *,
    installed_on: dt.date,
    initial_reads: Mapping[str, Any],
    reason: str = Installation.Reason.NEW,
) -> Installation:
    """装表 — install a meter from stock at a service point with its initial register reads."""
    _check_scope(actor, meter)
    _check_scope(actor, point)
    point = ServicePoint.objects.select_for_update().get(pk=point.pk)
    meter = _locked(meter)
    installation = _install(actor, meter, point, installed_on, initial_reads, reason)
    audit.record(
        actor,
        "metering.install_meter",
        meter,
        after={
            "service_point": point.number,
            "installed_on": installed_on,
            "multiplier": installation.multiplier,
            "initial_reads": _reads_audit(installation, InstallationRead.Event.INSTALL),
        },
    )
    return installation


@action("metering.remove_meter", permission="meter.manage")
def do_remove_meter(
    actor: User,
    meter: Meter,
    *,
    removed_on: dt.date,
    final_reads: Mapping[str, Any] | None,
    reason: str = Installation.Reason.CLOSE,
) -> Installation:
    """拆表 — remove an installed meter; the final reads of every register are required."""
    _check_scope(actor, meter)
    meter = _locked(meter)
    point_number = meter.service_point.number if meter.service_point is not None else ""
    installation = _remove(actor, meter, removed_on, final_reads or {}, reason)
    audit.record(
        actor,
        "metering.remove_meter",
        meter,
        before={"service_point": point_number, "status": Meter.Status.INSTALLED},
        after={
            "status": meter.status,
            "removed_on": removed_on,
            "final_reads": _reads_audit(installation, InstallationRead.Event.REMOVE),
        },
    )
    return installation


@action("metering.replace_meter", permission="meter.manage")
def do_replace_meter(
    actor: User,
    old_meter: Meter,
    new_meter: Meter,
    *,
    replaced_on: dt.date,
    final_reads: Mapping[str, Any] | None,
    initial_reads: Mapping[str, Any] | None,
    reason: str = Installation.Reason.REPLACE,
) -> Installation:
    """换表 — remove the old meter and install the new one at the same service point, atomically."""
    _check_scope(actor, old_meter)
    _check_scope(actor, new_meter)
    old = _locked(old_meter)
    if old.status != Meter.Status.INSTALLED or old.service_point_id is None:
        raise InvalidInput(
            {"meter": f"电能表 {old.asset_no} 未安装，无法换表。 (The old meter is not installed.)"}
        )
    point = ServicePoint.objects.select_for_update().get(pk=old.service_point_id)
    new = _locked(new_meter)
    # Check the new meter first so a bad new meter leaves the old one in place.
    if new.status != Meter.Status.IN_STOCK:
        raise InvalidInput(
            {
                "new_meter": f"新表 {new.asset_no} 状态为「{new.get_status_display()}」，只能安装库存表。 (Only meters in stock can be installed.)"
            }
        )
    errors: dict[str, list[str]] = {}
    for meter, reads, field in ((old, final_reads, "final_reads"), (new, initial_reads, "initial_reads")):
        try:
            clean_reads(meter, reads, field)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    removed = _remove(actor, old, replaced_on, final_reads or {}, reason)
    installed = _install(actor, new, point, replaced_on, initial_reads or {}, reason)
    audit.record(
        actor,
        "metering.replace_meter",
        point,
        before={"meter": old.asset_no, "final_reads": _reads_audit(removed, InstallationRead.Event.REMOVE)},
        after={
            "meter": new.asset_no,
            "replaced_on": replaced_on,
            "multiplier": installed.multiplier,
            "initial_reads": _reads_audit(installed, InstallationRead.Event.INSTALL),
        },
        note=reason,
    )
    # each meter's own history in its fields' words (用电地址, 装表日期), never a bare status code
    audit.record(
        actor,
        "metering.replace_meter",
        old,
        before={"service_point": point.number},
        after={"service_point": None},
    )
    audit.record(
        actor,
        "metering.replace_meter",
        new,
        after={"service_point": point.number, "installed_on": replaced_on},
    )
    return installed


@action("metering.record_test", permission="meter.manage")
def do_record_onsite_test(
    actor: User,
    meter: Meter,
    *,
    tested_on: dt.date,
    result: str,
    error_percent: Decimal | None = None,
    note: str = "",
) -> OnSiteTest:
    """现场检验 — record a test; the next one is planned by class; out of tolerance → replace in 3 working days."""
    errors: dict[str, str] = {}
    if result not in OnSiteTest.Result.values:
        errors["result"] = f"无效的检验结论「{result}」。 (Invalid result.)"
    if tested_on > timezone.localdate():
        errors["tested_on"] = "检验日期不能晚于今天。 (The test date cannot be in the future.)"
    if errors:
        raise InvalidInput(errors)
    _check_scope(actor, meter)
    meter = _locked(meter)
    if meter.status != Meter.Status.INSTALLED:
        raise InvalidInput(
            {"meter": "只能对运行中的电能表做现场检验。 (Only installed meters are tested on site.)"}
        )
    if meter.installed_on and tested_on < meter.installed_on:
        raise InvalidInput({"tested_on": "检验日期早于装表日期。 (Tested before installation.)"})
    point = meter.service_point
    assert point is not None  # an installed meter has its service point
    test = OnSiteTest.objects.create(
        meter=meter,
        service_point=point,
        tested_on=tested_on,
        result=result,
        error_percent=error_percent,
        note=note,
    )
    before = audit.snapshot(meter, ["last_tested_on", "next_test_due", "replace_due"])
    meter.last_tested_on = tested_on
    if result == OnSiteTest.Result.OUT_OF_TOLERANCE:
        start = timezone.make_aware(dt.datetime.combine(tested_on, dt.time(12)))
        deadline = add_working_days(start, rules().out_of_tolerance_replace_working_days)
        meter.replace_due = timezone.localtime(deadline).date() - dt.timedelta(days=1)
    else:
        meter.replace_due = None
    _meter_dates(meter)
    meter.save()
    audit.record(
        actor,
        "metering.record_test",
        meter,
        before=before,
        after={
            **audit.snapshot(meter, ["last_tested_on", "next_test_due", "replace_due"]),
            "result": result,
            "error_percent": error_percent,
        },
    )
    return test


@action("metering.change_status", permission="meter.manage")
def do_change_meter_status(
    actor: User,
    meter: Meter,
    *,
    status: str,
    reason: str = "",
    verified_on: dt.date | None = None,
    org_unit: OrgUnit | None = None,
) -> Meter:
    """送检 / 检定合格入库 / 报废 — move a meter that is not installed; a new verification date may come back."""
    _check_scope(actor, meter)
    meter = _locked(meter)
    allowed = STATUS_MOVES.get(meter.status, set())
    if status not in allowed:
        raise InvalidTransition(meter.get_status_display(), status, allowed)
    if verified_on is not None and verified_on > timezone.localdate():
        raise InvalidInput(
            {"verified_on": "检定日期不能晚于今天。 (The verification date cannot be in the future.)"}
        )
    before = audit.snapshot(meter, ["status", "verified_on", "org_unit_id"])
    meter.status = status
    if verified_on is not None:
        meter.verified_on = verified_on
    if org_unit is not None:
        _check_scope(actor, org_unit)
        meter.org_unit = org_unit
    _meter_dates(meter)
    meter.save()
    old, new = audit.diff(before, audit.snapshot(meter, ["status", "verified_on", "org_unit_id"]))
    audit.record(actor, "metering.change_status", meter, before=old, after=new, note=reason)
    return meter
