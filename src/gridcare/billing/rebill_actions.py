"""Writes of cancel/rebill (退补): propose a case (its released bills re-rated with the corrected inputs, the
difference computed), submit it (within the proposer's authority limit it is approved, above it waits for a position
whose limit covers it), approve or reject it (never one's own, never above one's own limit), withdraw it, post it
(one correcting bill per corrected bill, numbered and released like any bill — the corrected bill is never edited).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from gridcare.billing import rebill as calc
from gridcare.billing.actions import do_release_bills
from gridcare.billing.conf import conf
from gridcare.billing.models import Bill, BillLine, Rebill, RebillItem
from gridcare.billing.rating import COMPENSATION, rate_chunk, words
from gridcare.billing.selectors import AccountInput, ChunkData
from gridcare.core import audit
from gridcare.core.access import check_limit, get_in_scope
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput, InvalidTransition, LimitExceeded, PermissionRefused
from gridcare.core.numbering import Counter, next_number
from gridcare.customers.models import Account, ServicePoint
from gridcare.engine.tariff import BasicCharge, TariffError
from gridcare.engine.tariff import Tariff as EngineTariff
from gridcare.metering.models import Register
from gridcare.org.models import OrgUnit, User
from gridcare.readings.periods import parse_period
from gridcare.readings.selectors import determinants_in_range
from gridcare.tariffs.models import Tariff
from gridcare.tariffs.selectors import engine_tariff

REBILL_NUMBERS = Counter("rebill", "billing_rebill_number_seq")
OPEN = (Rebill.Status.DRAFT, Rebill.Status.PENDING, Rebill.Status.APPROVED)
CASE_FIELDS = ["status", "decided_by_id", "decision_note", "total", "authority_amount", "approvers"]
VIOLATIONS = {"tariff": "高价低接（改变用电类别）", "capacity": "私自超过合同容量用电"}


# ------------------------------------------------------------------------------------------------ input checks


def _decimal(
    raw: dict[str, Any],
    name: str,
    errors: dict[str, str],
    *,
    required: bool,
    places: int = 3,
    signed: bool = False,
    upto: Decimal = Decimal("1e8"),
) -> Decimal | None:
    """A number of ``raw`` (text or integer, never float) with at most ``places`` decimals, below ``upto`` in
    size (100 GWh, 100 GVA …: beyond any bill, and within the engine's fixed-point range)."""
    value = raw.get(name)
    if value is None or str(value).strip() == "":
        if required:
            errors[name] = "请填写此项。 (Required.)"
        return None
    if isinstance(value, float):
        errors[name] = "数值请以文本或 Decimal 传入。 (Send numbers as text, not float.)"
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[name] = f"「{value}」不是数字。 (Not a number.)"
        return None
    exponent = number.as_tuple().exponent
    if not number.is_finite() or (isinstance(exponent, int) and exponent < -places):
        errors[name] = f"数值须为有限数，最多 {places} 位小数。 (At most {places} decimals.)"
        return None
    if abs(number) >= upto:
        errors[name] = f"数值须小于 {upto:,f}。 (Must be below {upto:,f}.)"
        return None
    if not signed and number <= 0:
        errors[name] = "须大于 0。 (Must be above zero.)"
        return None
    return number


def _date(raw: dict[str, Any], name: str, errors: dict[str, str], *, required: bool) -> dt.date | None:
    value = raw.get(name)
    if value is None or str(value).strip() == "":
        if required:
            errors[name] = "请填写日期。 (Give the date.)"
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[name] = f"日期「{value}」格式应为 YYYY-MM-DD。 (Date as YYYY-MM-DD.)"
        return None


def _registers(value: Any, where: str, errors: dict[str, str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    if not isinstance(value, dict):
        errors[where] = "更正示数应为 {计度器: 电量}。 (Registers as {register: quantity}.)"
        return out
    for register, qty in value.items():
        if register not in Register.values:
            errors[where] = f"未知的计度器「{register}」。 (Unknown register {register}.)"
            continue
        sub: dict[str, str] = {}
        number = _decimal({"q": qty}, "q", sub, required=True, signed=True)
        if sub or number is None or number < 0:
            errors[where] = (
                f"{Register(register).label}：电量须为不小于 0 的数，最多 3 位小数。 (A quantity ≥ 0.)"
            )
            continue
        out[register] = number
    return out


def _tariff_code(raw: dict[str, Any], errors: dict[str, str], *, required: bool) -> str | None:
    code = str(raw.get("tariff_code") or "").strip()
    if not code:
        if required:
            errors["tariff_code"] = "请选择应执行的电价。 (Give the applicable tariff.)"
        return None
    if not Tariff.objects.filter(code=code).exists():
        errors["tariff_code"] = f"电价「{code}」不在电价目录中。 (Tariff {code} is not in the catalogue.)"
        return None
    return code


def clean_params(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The corrected inputs of a case of ``kind``, checked and normalised (JSON-ready); every fault at once."""
    errors: dict[str, str] = {}
    params: dict[str, Any] = {}
    if kind == Rebill.Kind.CORRECTION:
        code = _tariff_code(raw, errors, required=False)
        registers = raw.get("registers") or {}
        per_bill: dict[str, dict[str, str]] = {}
        if registers and isinstance(registers, dict) and all(str(k).isdigit() for k in registers):
            for bill, values in registers.items():
                per_bill[str(bill)] = {r: str(q) for r, q in _registers(values, "registers", errors).items()}
        elif registers:
            per_bill["*"] = {r: str(q) for r, q in _registers(registers, "registers", errors).items()}
        if (
            not code
            and not any(per_bill.values())
            and "registers" not in errors
            and "tariff_code" not in errors
        ):
            errors["registers"] = (
                "请填写更正后的示数电量或应执行的电价。 (Give corrected registers or a tariff.)"
            )
        params.update(tariff_code=code, registers=per_bill)
    elif kind == Rebill.Kind.METER_ERROR:
        most = Decimal(str(conf("METER_ERROR_MAX_PCT")))
        error = _decimal(raw, "error_pct", errors, required=True, places=2, signed=True, upto=most + 1)
        if error is not None and (error == 0 or abs(error) > most):
            errors["error_pct"] = f"误差须不为 0，且在 ±{most}% 以内。 (Error within ±{most} %, not 0.)"
        verified = _date(raw, "verified_on", errors, required=True)
        corrected = _date(raw, "corrected_on", errors, required=False) or timezone.localdate()
        if verified is not None and verified >= corrected:
            errors["verified_on"] = (
                f"上次检定日期须早于误差更正日期 {corrected}。 (The last verification precedes the correction.)"
            )
        params.update(
            error_pct=None if error is None else str(error),
            verified_on=None if verified is None else verified.isoformat(),
            corrected_on=corrected.isoformat(),
        )
    elif kind == Rebill.Kind.VIOLATION:
        violation = str(raw.get("violation") or "")
        if violation not in VIOLATIONS:
            errors["violation"] = (
                "请选择违约类型：tariff（高价低接）或 capacity（私增容量）。 (tariff or capacity.)"
            )
        code = _tariff_code(raw, errors, required=violation == "tariff")
        overrun = _decimal(raw, "overrun_kva", errors, required=violation == "capacity")
        multiple = _decimal(raw, "penalty_multiple", errors, required=False, places=2, upto=Decimal(100))
        default = conf("VIOLATION_TARIFF_PENALTY") if violation == "tariff" else conf("OVERRUN_PENALTY")
        params.update(
            violation=violation,
            tariff_code=code if violation == "tariff" else None,
            overrun_kva=None if overrun is None or violation != "capacity" else str(overrun),
            penalty_multiple=str(multiple if multiple is not None else Decimal(str(default))),
        )
    elif kind == Rebill.Kind.THEFT:
        unknown = bool(raw.get("period_unknown"))
        stolen = _decimal(raw, "stolen_kwh", errors, required=not unknown)
        rated = _decimal(raw, "rated_kw", errors, required=False, upto=Decimal("1e5"))
        multiple = _decimal(raw, "penalty_multiple", errors, required=False, places=2, upto=Decimal(100))
        params.update(
            period_unknown=unknown,
            stolen_kwh=None if unknown or stolen is None else str(stolen),
            rated_kw=None if rated is None else str(rated),
            penalty_multiple=str(multiple if multiple is not None else Decimal(str(conf("THEFT_PENALTY")))),
        )
    else:
        names = "、".join(Rebill.Kind.values)
        errors["kind"] = f"退补类型须为 {names}。 (Type must be one of {names}.)"
    if errors:
        raise InvalidInput(errors)
    return params


# --------------------------------------------------------------------------------------------- the bills it corrects


def _bill_words(bill: Bill) -> str:
    return f"{bill.account.number} {bill.period}" + (f"（{bill.number}）" if bill.number else "")


def _released_bills(
    actor: User, bills: list[int] | None, account: int | None, periods: list[str] | None, last: int | None
) -> list[Bill]:
    """The bills a case corrects, each in the proposer's scope (outside it: not found), released and regular."""
    queryset = Bill.objects.select_related("account")
    if bills:
        found = [get_in_scope(queryset, actor, write=True, pk=pk) for pk in dict.fromkeys(bills)]
    elif account:
        owner = get_in_scope(Account.objects.all(), actor, write=True, pk=account)
        regular = queryset.filter(account=owner, kind=Bill.Kind.REGULAR, status=Bill.Status.RELEASED)
        if last:
            found = list(regular.order_by("-period")[:last])
            if not found:
                raise InvalidInput({"bills": f"户号 {owner.number} 没有已发行的账单。 (No released bill.)"})
        else:
            wanted = list(dict.fromkeys(periods or []))
            for period in wanted:
                parse_period(period)
            found = list(regular.filter(period__in=wanted))
            missing = sorted(set(wanted) - {b.period for b in found})
            if not wanted or missing:
                shown = "、".join(missing) or "—"
                raise InvalidInput(
                    {
                        "periods": f"户号 {owner.number} 在 {shown} 没有已发行的账单。 (No released bill in {shown}.)"
                    }
                )
    else:
        raise InvalidInput(
            {"bills": "请选择要退补的账单，或户号与账期。 (Choose the bills, or an account and periods.)"}
        )
    for bill in found:
        if bill.kind != Bill.Kind.REGULAR:
            raise InvalidInput(
                {"bills": f"{_bill_words(bill)} 是退补账单：请对原账单退补。 (Rebill the bill it corrects.)"}
            )
        if bill.status != Bill.Status.RELEASED:
            raise InvalidInput(
                {
                    "bills": f"{_bill_words(bill)} 为「{bill.get_status_display()}」：只有已发行的账单才能退补，"
                    "未发行的账单请重新计费。 (Only released bills are rebilled; re-rate a draft.)"
                }
            )
    busy = (
        RebillItem.objects.filter(bill__in=found, rebill__status__in=OPEN)
        .select_related("rebill", "bill__account")
        .first()
    )
    if busy is not None:
        raise Conflict(
            f"{_bill_words(busy.bill)} 已在退补申请 {busy.rebill.number}（{busy.rebill.get_status_display()}）中。"
            " (The bill is in another open rebill.)"
        )
    return sorted(found, key=lambda b: (b.account_id, b.period))


def _common_unit(bills: list[Bill]) -> OrgUnit:
    """The lowest unit holding every account of the case (its data scope)."""
    paths = list(
        OrgUnit.objects.filter(pk__in={b.account.org_unit_id for b in bills}).values_list("path", flat=True)
    )
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return OrgUnit.objects.get(path="/" + "/".join(common) + "/")


# ------------------------------------------------------------------------------------------------------ re-rating


def _base(bill: Bill) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Decimal]:
    """What the bill stands at now: its usages, rating lines and energy — those of its last posted correction, or
    the bill as released (a compensation credit is not rated, so it is not part of a rebill)."""
    last = (
        RebillItem.objects.filter(bill=bill, rebill__status=Rebill.Status.POSTED)
        .order_by("-rebill__posted_at", "-pk")
        .first()
    )
    if last is not None:
        data = last.explanation
        return data["usages"], data["corrected"], Decimal(data["energy"])
    lines = [
        {
            "code": ln.code,
            "label": ln.label,
            "quantity": None if ln.quantity is None else str(ln.quantity),
            "unit": ln.unit,
            "unit_price": None if ln.unit_price is None else str(ln.unit_price),
            "amount": str(ln.amount),
        }
        for ln in bill.lines.exclude(code=COMPENSATION).order_by("sequence")
    ]
    return bill.inputs.get("usages", []), lines, bill.energy_kwh


def _tariffs(codes: set[str]) -> tuple[dict[str, EngineTariff], dict[str, str]]:
    tariffs: dict[str, EngineTariff] = {}
    errors: dict[str, str] = {}
    for tariff in Tariff.objects.filter(code__in=codes).prefetch_related("versions"):
        try:
            tariffs[tariff.code] = engine_tariff(tariff)
        except InvalidInput as exc:
            errors[tariff.code] = "; ".join(m for msgs in exc.errors.values() for m in msgs)[:250]
    for code in codes - set(tariffs) - set(errors):
        errors[code] = f"电价「{code}」不在电价目录中。 (Tariff {code} is not in the catalogue.)"
    return tariffs, errors


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _changes(
    kind: str, params: dict[str, Any], bills: list[Bill], entries: list[AccountInput], tariffs: Any
) -> list[calc.Change]:
    """What the case changes in each bill, with the notes that explain it."""
    changes: list[calc.Change] = []
    if kind == Rebill.Kind.CORRECTION:
        for bill in bills:
            given = params["registers"].get(str(bill.pk)) or params["registers"].get("*") or {}
            change = calc.Change(
                registers={r: _dec(q) for r, q in given.items()}, tariff_code=params["tariff_code"]
            )
            for register, qty in change.registers.items():
                change.notes.append(f"更正{Register(register).label}：{qty}")
            if change.tariff_code:
                change.notes.append(f"更正电价：{bill.tariff_code} → {change.tariff_code}")
            changes.append(change)
    elif kind == Rebill.Kind.METER_ERROR:
        error = _dec(params["error_pct"])
        verified = dt.date.fromisoformat(params["verified_on"])
        corrected = dt.date.fromisoformat(params["corrected_on"])
        start, end = calc.meter_error_window(verified, corrected, _dec(conf("METER_ERROR_SHARE")))
        for bill in bills:
            days = (min(bill.period_end, end) - max(bill.period_start, start)).days
            if days <= 0:
                raise InvalidInput(
                    {
                        "bills": f"{_bill_words(bill)} 不在退补期 {start} 至 {end} 内（自上次检定 {verified} 至误差更正"
                        f" {corrected} 的时间 × {conf('METER_ERROR_SHARE')}）。 (The bill is outside the back-billing window.)"
                    }
                )
            total_days = (bill.period_end - bill.period_start).days
            factor = calc.meter_error_factor(error, days, total_days)
            changes.append(
                calc.Change(
                    energy_factor=factor,
                    notes=[
                        f"电能表误差 {error:+}%，以零误差为准；退补期 {start} 至 {end}（自上次检定 {verified} 至更正日"
                        f" {corrected} 的时间 × {conf('METER_ERROR_SHARE')}）；本账期在退补期内 {days}/{total_days} 天，"
                        f"电量 × {factor.quantize(Decimal('0.000001'))}"
                    ],
                )
            )
    elif kind == Rebill.Kind.VIOLATION:
        multiple = _dec(params["penalty_multiple"])
        for index, entry in enumerate(entries):
            if params["violation"] == "tariff":
                changes.append(
                    calc.Change(
                        tariff_code=params["tariff_code"],
                        penalty_multiple=multiple,
                        notes=[
                            f"违约用电（{VIOLATIONS['tariff']}）：按 {params['tariff_code']} 追补差额电费，"
                            f"并按 {multiple.normalize()} 倍计收违约使用电费"
                        ],
                    )
                )
                continue
            overrun = _dec(params["overrun_kva"])
            segment = entry.segments[-1]
            try:
                version = tariffs[segment.tariff_code].version_on(segment.end - dt.timedelta(days=1))
            except (KeyError, TariffError):
                version = None
            if version is not None and isinstance(version.component("basic"), BasicCharge):
                changes.append(
                    calc.Change(
                        extra_kva=overrun,
                        penalty_multiple=multiple,
                        notes=[
                            f"违约用电（{VIOLATIONS['capacity']} {overrun} kVA）：两部制用户补交私增容量基本电费，"
                            f"并按 {multiple.normalize()} 倍计收违约使用电费"
                        ],
                    )
                )
            else:
                per_kw = _dec(conf("OVERRUN_YUAN_PER_KW"))
                fixed = (
                    ("私增容量违约使用电费", overrun, "kW", per_kw) if index == 0 else None
                )  # once per case, on its first bill
                changes.append(
                    calc.Change(
                        fixed_penalty=fixed,
                        notes=[
                            f"违约用电（{VIOLATIONS['capacity']} {overrun} kVA）：单一制用户按每千瓦（千伏安）"
                            f"{per_kw} 元计收违约使用电费"
                            + ("" if index == 0 else "（已在本案首张账单计收）")
                        ],
                    )
                )
    else:  # theft
        multiple = _dec(params["penalty_multiple"])
        if params["period_unknown"]:
            bill, entry = bills[-1], entries[-1]
            rated = _dec(params["rated_kw"]) if params.get("rated_kw") else entry.capacity_kva
            if rated is None:
                raise InvalidInput({"rated_kw": "请填写窃电设备的额定容量。 (Give the rated capacity.)"})
            days = int(conf("THEFT_DAYS"))
            hours_by_class = {k: int(v) for k, v in dict(conf("THEFT_HOURS")).items()}
            cls = (
                ServicePoint.objects.filter(account_id=bill.account_id)
                .order_by("pk")
                .values_list("customer_class", flat=True)
                .first()
            )
            hours = hours_by_class.get(cls or "", hours_by_class["default"])
            stolen = calc.theft_energy(rated, days, hours)
            params["rated_kw"] = str(rated)
            params["stolen_kwh"] = str(stolen)
            changes += [calc.Change() for _earlier in bills[:-1]]  # all of it on the latest bill
            changes.append(
                calc.Change(
                    extra_kwh=stolen,
                    penalty_multiple=multiple,
                    notes=[
                        f"窃电时间无法查明：额定容量 {rated} kW × {days} 天 × {hours} 小时/天 = {stolen} kWh，"
                        f"按本账期电价追补，并按 {multiple.normalize()} 倍计收违约使用电费"
                    ],
                )
            )
        else:
            stolen = _dec(params["stolen_kwh"])
            days_of = [Decimal((b.period_end - b.period_start).days) for b in bills]
            for part in calc.distribute(stolen, days_of):
                changes.append(
                    calc.Change(
                        extra_kwh=part,
                        penalty_multiple=multiple,
                        notes=[
                            f"窃电量 {stolen} kWh 按账期天数分摊，本账期 {part} kWh；"
                            f"追补电费并按 {multiple.normalize()} 倍计收违约使用电费"
                        ],
                    )
                )
    return changes


def _rerate(actor: User, kind: str, params: dict[str, Any], bills: list[Bill]) -> list[calc.Outcome]:
    """Each bill re-rated by the billing run's rating with the case's corrections."""
    bases = [_base(b) for b in bills]
    entries = [
        calc.account_input(b.account_id, b.period, b.period_start, b.period_end, b.tier_ytd_kwh, usages)
        for b, (usages, _lines, _energy) in zip(bills, bases, strict=True)
    ]
    codes = {s.tariff_code for e in entries for s in e.segments}
    if params.get("tariff_code"):
        codes.add(params["tariff_code"])
    tariffs, errors = _tariffs(codes)
    changes = _changes(kind, params, bills, entries, tariffs)
    for bill, entry, change in zip(bills, entries, changes, strict=True):
        if change.tariff_code:  # another tariff may need registers the billed one did not (TOU, reactive)
            found = determinants_in_range(
                actor, period=bill.period, first=bill.account_id, last=bill.account_id
            )
            measured = found.found.get(bill.account_id)
            if measured is not None:
                for register, read in measured.registers.items():
                    entry.registers.setdefault(register, read.quantity)
    results: list[calc.Outcome] = []
    for bill, entry, change, (_usages, lines, energy) in zip(bills, entries, changes, bases, strict=True):
        corrected = calc.apply(entry, change)
        rated = rate_chunk(ChunkData(bill.period, [corrected], tariffs, errors, []))
        if rated.not_billed:
            _account, _reason, detail = rated.not_billed[0]
            raise InvalidInput(
                {
                    "bills": f"{_bill_words(bill)} 无法按更正后的数据计费：{words(detail)} (Cannot be re-rated.)"
                }
            )
        results.append(
            calc.outcome(
                lines,
                rated.bills[0],
                change,
                original_energy=energy,
                penalty_on_funds=bool(conf("PENALTY_ON_FUNDS")),
            )
        )
    return results


# ------------------------------------------------------------------------------------------------------- actions


@action("billing.propose_rebill", permission="billing.propose_adjustment")
def do_propose_rebill(
    actor: User,
    *,
    kind: str,
    reason: str,
    bills: list[int] | None = None,
    account: int | None = None,
    periods: list[str] | None = None,
    params: dict[str, Any] | None = None,
    submit: bool = False,
) -> Rebill:
    """退补申请 — the released ``bills`` (or the ``account``'s bills of ``periods``; for a violation or theft whose
    period is unknown, its last released bills) re-rated with the corrected inputs ``params``; the difference of
    every bill is kept with its explanation. A case with no difference at all is refused (there is nothing to
    correct). ``submit``: submitted at once (:func:`do_submit_rebill`)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "请填写退补原因。 (Give the reason for the rebill.)"})
    raw = dict(params or {})
    cleaned = clean_params(kind, raw)
    last: int | None = None
    if cleaned.get("period_unknown"):
        last = 1
    elif kind == Rebill.Kind.VIOLATION and raw.get("period_unknown") and cleaned["violation"] == "tariff":
        last = int(conf("VIOLATION_UNKNOWN_MONTHS"))
        cleaned["period_unknown"] = True
    chosen = _released_bills(actor, bills, account, periods, last)
    outcomes = _rerate(actor, kind, cleaned, chosen)
    if all(o.total == 0 for o in outcomes):
        raise InvalidInput(
            {
                "__all__": "按更正后的数据重新计费，电费没有差额，无需退补。"
                " (Re-rated with the corrections, the bills do not change: nothing to rebill.)"
            }
        )
    now = timezone.now()
    prefix = f"{conf('REBILL_NUMBER_PREFIX')}{timezone.localdate(now):%Y%m}"
    case = Rebill.objects.create(
        number=next_number(REBILL_NUMBERS, Rebill, prefix, int(conf("REBILL_NUMBER_WIDTH"))),
        kind=kind,
        reason=reason[:500],
        params=cleaned,
        org_unit=_common_unit(chosen),
        difference=sum((o.difference for o in outcomes), Decimal("0.00")),
        penalty=sum((o.penalty for o in outcomes), Decimal("0.00")),
        total=sum((o.total for o in outcomes), Decimal("0.00")),
        authority_amount=sum((abs(o.total) for o in outcomes), Decimal("0.00")),
        proposed_by=actor,
        proposed_at=now,
    )
    RebillItem.objects.bulk_create(
        [
            RebillItem(
                rebill=case,
                bill=bill,
                original_total=o.original_total,
                corrected_total=o.corrected_total,
                difference=o.difference,
                penalty=o.penalty,
                total=o.total,
                energy_difference=o.energy_difference,
                explanation={
                    "notes": o.notes,
                    "original": o.original,
                    "corrected": o.corrected,
                    "lines": o.lines,
                    "usages": o.usages,
                    "energy": str(o.energy),
                    "charges": str(o.charges),
                    "funds": str(o.funds),
                    "power_factor": None if o.power_factor is None else str(o.power_factor),
                    "tariff_code": o.tariff_code,
                },
            )
            for bill, o in zip(chosen, outcomes, strict=True)
        ]
    )
    audit.record(
        actor,
        "billing.propose_rebill",
        case,
        after={
            "kind": case.kind,
            "reason": case.reason,
            "bills": [b.pk for b in chosen],
            "difference": case.difference,
            "penalty": case.penalty,
            "total": case.total,
        },
    )
    if submit:
        return do_submit_rebill(actor, case.pk)
    return case


def _case(actor: User, pk: int) -> Rebill:
    return get_in_scope(Rebill.objects.select_for_update(of=("self",)), actor, write=True, pk=pk)


def _require(case: Rebill, allowed: tuple[str, ...], requested: str) -> None:
    if case.status not in allowed:
        raise InvalidTransition(
            case.get_status_display(), requested, [str(Rebill.Status(s).label) for s in allowed]
        )


@action("billing.submit_rebill", permission="billing.propose_adjustment")
def do_submit_rebill(actor: User, pk: int) -> Rebill:
    """提交 — within the proposer's authority limit (``bill_adjustment``) the case is approved; above it, it waits
    for a position whose limit covers it (named on the case)."""
    case = _case(actor, pk)
    _require(case, (Rebill.Status.DRAFT,), str(Rebill.Status.PENDING.label))
    if case.proposed_by_id != actor.pk:
        raise PermissionRefused("只有申请人可以提交退补申请。 (Only the proposer submits the case.)")
    before = audit.snapshot(case, CASE_FIELDS)
    case.submitted_at = timezone.now()
    try:
        check_limit(actor, "bill_adjustment", case.authority_amount)
    except LimitExceeded as exc:
        case.status = Rebill.Status.PENDING
        case.approvers = "、".join(exc.approvers)[:300]
    else:
        case.status = Rebill.Status.APPROVED
        case.decided_by, case.decided_at = actor, case.submitted_at
        case.decision_note = "在申请人权限额度内。"
    case.save()
    old, new = audit.diff(before, audit.snapshot(case, CASE_FIELDS))
    audit.record(actor, "billing.submit_rebill", case, before=old, after=new)
    return case


def _decide(actor: User, pk: int, status: str, note: str) -> Rebill:
    case = _case(actor, pk)
    _require(case, (Rebill.Status.PENDING,), str(Rebill.Status(status).label))
    if case.proposed_by_id == actor.pk:
        raise PermissionRefused("不能审批自己提出的退补申请。 (You cannot decide a rebill you proposed.)")
    if status == Rebill.Status.APPROVED:
        check_limit(actor, "bill_adjustment", case.authority_amount)
    before = audit.snapshot(case, CASE_FIELDS)
    case.status = status
    case.decided_by, case.decided_at = actor, timezone.now()
    case.decision_note = (note or "").strip()[:300]
    case.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    old, new = audit.diff(before, audit.snapshot(case, CASE_FIELDS))
    code = "billing.approve_rebill" if status == Rebill.Status.APPROVED else "billing.reject_rebill"
    audit.record(actor, code, case, before=old, after=new, note=case.decision_note)
    return case


@action("billing.approve_rebill", permission="billing.approve_adjustment")
def do_approve_rebill(actor: User, pk: int, *, note: str = "") -> Rebill:
    """审批通过 — by a position whose authority limit covers the case, never the proposer."""
    return _decide(actor, pk, Rebill.Status.APPROVED, note)


@action("billing.reject_rebill", permission="billing.approve_adjustment")
def do_reject_rebill(actor: User, pk: int, *, note: str) -> Rebill:
    """驳回 — with the reason; nothing is posted."""
    if not (note or "").strip():
        raise InvalidInput({"note": "请填写驳回理由。 (Give the reason for rejecting.)"})
    return _decide(actor, pk, Rebill.Status.REJECTED, note)


@action("billing.withdraw_rebill", permission="billing.propose_adjustment")
def do_withdraw_rebill(actor: User, pk: int) -> Rebill:
    """撤回 — the proposer withdraws a case not posted yet; its bills are free for another case."""
    case = _case(actor, pk)
    _require(case, OPEN, str(Rebill.Status.WITHDRAWN.label))
    if case.proposed_by_id != actor.pk:
        raise PermissionRefused("只有申请人可以撤回退补申请。 (Only the proposer withdraws the case.)")
    before = audit.snapshot(case, CASE_FIELDS)
    case.status = Rebill.Status.WITHDRAWN
    case.save(update_fields=["status"])
    audit.record(actor, "billing.withdraw_rebill", case, before=before, after={"status": case.status})
    return case


@action("billing.post_rebill", permission="billing.release")
def do_post_rebill(actor: User, pk: int) -> Rebill:
    """入账 — an approved case becomes correcting bills (退补账单), one per bill with a difference: the difference
    and penalty lines, linked to the bill it corrects, numbered and released like every bill. The corrected bills
    are not touched (they are locked meanwhile, so two cases never post on the same state)."""
    case = _case(actor, pk)
    _require(case, (Rebill.Status.APPROVED,), str(Rebill.Status.POSTED.label))
    items = list(case.items.select_related("bill").order_by("pk"))
    locked = list(Bill.objects.select_for_update().filter(pk__in=[i.bill_id for i in items]).order_by("pk"))
    gone = [b for b in locked if b.status != Bill.Status.RELEASED]
    if gone:
        raise Conflict(f"账单 {gone[0].period} 已不是已发行状态。 (A corrected bill is no longer released.)")
    now = timezone.now()
    created: list[tuple[RebillItem, Bill]] = []
    for item in items:
        if item.total == 0:
            continue  # no difference on this bill: recorded on the case, nothing to post
        data = item.explanation
        original = item.bill
        bill = Bill.objects.create(
            account_id=original.account_id,
            period=original.period,
            period_start=original.period_start,
            period_end=original.period_end,
            kind=Bill.Kind.CORRECTING,
            status=Bill.Status.DRAFT,
            tariff_code=data["tariff_code"][:64],
            energy_kwh=item.energy_difference,
            tier_ytd_kwh=original.tier_ytd_kwh,
            power_factor=None if data.get("power_factor") is None else Decimal(data["power_factor"]),
            charges=Decimal(data["charges"]),
            funds=Decimal(data["funds"]),
            credits=Decimal("0.00"),
            total=item.total,
            inputs={"rebill": case.number, "corrects": original.pk, "usages_corrected": data["usages"]},
            created_at=now,
        )
        BillLine.objects.bulk_create(
            [
                BillLine(
                    bill=bill,
                    sequence=n,
                    code=ln["code"],
                    label=ln["label"][:80],
                    quantity=None if ln["quantity"] is None else Decimal(ln["quantity"]),
                    unit=ln["unit"] or "",
                    unit_price=None if ln["unit_price"] is None else Decimal(ln["unit_price"]),
                    amount=Decimal(ln["amount"]),
                )
                for n, ln in enumerate(data["lines"], start=1)
            ]
        )
        created.append((item, bill))
    if created:
        do_release_bills(actor, Bill.objects.filter(pk__in=[b.pk for _i, b in created]))
    for item, bill in created:
        item.correcting_bill = bill
        item.save(update_fields=["correcting_bill"])
    case.status = Rebill.Status.POSTED
    case.posted_by, case.posted_at = actor, now
    case.save(update_fields=["status", "posted_by", "posted_at"])
    audit.record(
        actor,
        "billing.post_rebill",
        case,
        after={"status": case.status, "correcting_bills": [b.pk for _i, b in created], "total": case.total},
    )
    return case
