"""Prospects (备案客户): registration with collision prevention (防止撞单), the development pipeline (客户开发计划),
conversion of a won prospect into a customer, dispute decisions, audited contact views and registration expiry."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput, InvalidTransition
from gridcare.core.locks import job_lock
from gridcare.core.numbering import Counter, next_number
from gridcare.customers.validators import id_number_error
from gridcare.engine.names import normalise_address, normalise_credit_code, normalise_name
from gridcare.keyaccounts.collision import Hit, find_collision, name_index
from gridcare.keyaccounts.conf import conf
from gridcare.keyaccounts.models import Collision, Industry, Prospect
from gridcare.keyaccounts.selectors import prospect_in_scope
from gridcare.org.models import OrgUnit, User

PROSPECT_NUMBERS = Counter("prospect", "keyaccounts_prospect_number_seq")
PROSPECT_FIELDS = [
    "number",
    "name",
    "credit_code",
    "address",
    "industry",
    "region_id",
    "expected_capacity_kva",
    "expected_annual_kwh",
    "stage",
    "lost_reason",
    "next_action",
    "next_action_on",
    "owner_id",
    "status",
]
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")

#: what a salesperson is told on a collision: that it is registered — never by whom (客户信息保密)
TAKEN = (
    "该客户已被备案，不能重复登记；如有异议请联系市场部经理。 "
    "(This company is already registered; ask your manager if you dispute it.)"
)
IS_CUSTOMER = "该单位已是本公司客户，不能备案。 (This company is already a customer.)"

#: stage moves the pipeline allows (won and lost are final; a lost prospect may be reopened as a lead)
TRANSITIONS: dict[str, set[str]] = {
    "lead": {"contacted", "proposal", "lost"},
    "contacted": {"proposal", "negotiating", "lost"},
    "proposal": {"negotiating", "contacted", "won", "lost"},
    "negotiating": {"proposal", "won", "lost"},
    "won": set(),
    "lost": {"lead"},
}


@dataclass(frozen=True)
class Registration:
    """The outcome of a registration: the new prospect, or the collision that refused it (and the message the
    salesperson sees). A refusal is an answer, not an error, so its collision record is kept."""

    prospect: Prospect | None
    collision: Collision | None = None
    message: str = ""

    @property
    def refused(self) -> bool:
        return self.prospect is None


def _amount(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = f"「{value}」不是有效数值。 (Not a number.)"
        return None
    if not number.is_finite() or number < 0 or number >= Decimal("1e12"):
        errors[field] = "数值应为 0 到 1 万亿之间。 (Must be between 0 and 10^12.)"
        return None
    return number.quantize(Decimal("0.01"))


def clean_prospect(data: dict[str, Any]) -> dict[str, Any]:
    """Validated registration fields (with the normalised name, code and address), or a refusal naming each
    field that is wrong and why."""
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    normalised = normalise_name(name)
    if not normalised:
        errors["name"] = "请填写单位名称。 (The company name is required.)"
    elif len(name) > 120:
        errors["name"] = "单位名称最长 120 个字符。 (At most 120 characters.)"
    credit_code = normalise_credit_code(str(data.get("credit_code") or ""))
    problem = id_number_error("credit_code", credit_code) if credit_code else None
    if problem:
        errors["credit_code"] = problem
    address = str(data.get("address") or "").strip()
    if len(address) > 200:
        errors["address"] = "地址最长 200 个字符。 (At most 200 characters.)"
    industry = data.get("industry") or ""
    if industry not in Industry.values:
        errors["industry"] = "请选择行业。 (Choose an industry.)"
    region = data.get("region")
    if not isinstance(region, OrgUnit):
        errors["region"] = "请选择所在供电区域。 (Choose the region.)"
    capacity = _amount(data.get("expected_capacity_kva", ""), "expected_capacity_kva", errors)
    kwh = _amount(data.get("expected_annual_kwh", ""), "expected_annual_kwh", errors)
    phone = str(data.get("contact_phone") or "").strip()
    if phone and not PHONE.match(phone):
        errors["contact_phone"] = "联系电话格式不正确。 (Invalid phone number.)"
    next_on = data.get("next_action_on")
    if next_on is not None and not isinstance(next_on, dt.date):
        errors["next_action_on"] = "日期格式应为 YYYY-MM-DD。 (Not a date.)"
    if errors:
        raise InvalidInput(errors)
    return {
        "name": name,
        "normalised_name": normalised,
        "credit_code": credit_code,
        "address": address,
        "normalised_address": normalise_address(address),
        "industry": industry,
        "region": region,
        "expected_capacity_kva": capacity,
        "expected_annual_kwh": kwh,
        "contact_name": str(data.get("contact_name") or "").strip()[:60],
        "contact_phone": phone,
        "next_action": str(data.get("next_action") or "").strip()[:200],
        "next_action_on": next_on,
    }


@action("keyaccounts.register_prospect", permission="prospect.register")
def do_register_prospect(actor: User, **data: Any) -> Registration:
    """客户备案 — register a company to the actor, unless someone holds it already (same credit code, same or
    very similar normalised name, same normalised address) or it is a customer: then the refusal is recorded
    for the managers (with the holder) and the salesperson is told only that it is registered."""
    values = clean_prospect(data)
    if actor.org_unit_id is None:
        raise InvalidInput({"owner": "您未归属任何单位，不能备案。 (You belong to no unit.)"})
    hit = _collision(values)
    if hit is None:
        try:
            with transaction.atomic():
                prospect = Prospect.objects.create(
                    number=next_number(PROSPECT_NUMBERS, Prospect, "BA", 8),
                    owner=actor,
                    unit_id=actor.org_unit_id,
                    **values,
                )
        except IntegrityError:  # registered at the same moment by someone else: the constraint decided
            hit = _collision(values) or Hit(Collision.Reason.NAME)
        else:
            audit.record(actor, "keyaccounts.register_prospect", prospect, after=_snapshot(prospect))
            name_index()  # the process's index learns the new name now, not at the next check
            return Registration(prospect)
    return _refuse(actor, values, hit)


def _collision(values: dict[str, Any]) -> Hit | None:
    return find_collision(
        normalised_name=values["normalised_name"],
        credit_code=values["credit_code"],
        normalised_address=values["normalised_address"],
    )


def _refuse(actor: User, values: dict[str, Any], hit: Hit) -> Registration:
    if hit.prospect_id is not None:
        own = (
            Prospect.objects.filter(pk=hit.prospect_id, owner=actor).values_list("number", flat=True).first()
        )
        if own is not None:
            raise InvalidInput(
                {"name": f"您已备案该客户（{own}）。 (You registered this company already: {own}.)"}
            )
    assert actor.org_unit is not None  # do_register_prospect refused a caller without a unit
    collision = Collision.objects.create(
        claimant=actor,
        unit=actor.org_unit,
        name=values["name"],
        credit_code=values["credit_code"],
        address=values["address"],
        reason=hit.reason,
        score=Decimal(str(hit.score)) if hit.score is not None else None,
        prospect_id=hit.prospect_id,
        customer_id=hit.customer_id,
    )
    audit.record(
        actor,
        "keyaccounts.collision_refused",
        collision,
        after={"name": collision.name, "reason": collision.reason, "prospect": hit.prospect_id},
    )
    return Registration(None, collision, IS_CUSTOMER if hit.reason == Collision.Reason.CUSTOMER else TAKEN)


def _snapshot(prospect: Prospect) -> dict[str, Any]:
    return audit.snapshot(prospect, PROSPECT_FIELDS)


def _touch(prospect: Prospect) -> None:
    prospect.last_activity_at = timezone.now()


@action("keyaccounts.update_prospect", permission=None)
def do_update_prospect(actor: User, prospect: Prospect | int, **changes: Any) -> Prospect:
    """Move a held prospect along the pipeline (stage, with a reason when lost), or change its next action,
    expectations or contact; any change counts as activity and keeps the registration alive."""
    pk = prospect.pk if isinstance(prospect, Prospect) else prospect
    found = prospect_in_scope(actor, pk, write=True)
    found = Prospect.objects.select_for_update().get(pk=found.pk)
    if found.status != Prospect.Status.HELD:
        raise Conflict("该备案已过期或已转为客户，不能修改。 (This registration expired or was converted.)")
    allowed = {
        "stage",
        "lost_reason",
        "next_action",
        "next_action_on",
        "contact_name",
        "contact_phone",
        "expected_capacity_kva",
        "expected_annual_kwh",
        "industry",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(
            {name: "不能修改此项。 (This field cannot be changed.)" for name in sorted(unknown)}
        )
    before = _snapshot(found)
    errors: dict[str, str] = {}
    stage = changes.pop("stage", None)
    if stage not in (None, "", found.stage):
        if stage not in Prospect.Stage.values:
            errors["stage"] = f"未知的阶段「{stage}」。 (Unknown stage.)"
        elif stage not in TRANSITIONS[found.stage]:
            raise InvalidTransition(found.get_stage_display(), str(stage), TRANSITIONS[found.stage])
        else:
            found.stage = stage
    if found.stage == Prospect.Stage.LOST and not str(changes.get("lost_reason", found.lost_reason)).strip():
        errors["lost_reason"] = "流失需填写原因。 (A lost prospect needs the reason.)"
    for name in ("expected_capacity_kva", "expected_annual_kwh"):
        if name in changes:
            changes[name] = _amount(changes[name], name, errors)
    if (
        "contact_phone" in changes
        and changes["contact_phone"]
        and not PHONE.match(str(changes["contact_phone"]))
    ):
        errors["contact_phone"] = "联系电话格式不正确。 (Invalid phone number.)"
    if "industry" in changes and changes["industry"] not in Industry.values:
        errors["industry"] = "请选择行业。 (Choose an industry.)"
    if errors:
        raise InvalidInput(errors)
    for name, value in changes.items():
        setattr(found, name, value.strip() if isinstance(value, str) else value)
    _touch(found)
    found.save()
    old, new = audit.diff(before, _snapshot(found))
    old.pop("contact_phone", None), new.pop("contact_phone", None)  # the number itself never enters the log
    audit.record(actor, "keyaccounts.update_prospect", found, before=old, after=new)
    return found


@action("keyaccounts.view_contact", permission=None)
def do_view_prospect_contact(actor: User, prospect: Prospect | int) -> dict[str, str]:
    """The contact person and phone of a prospect the actor may see — every view is audited (客户信息保密)."""
    pk = prospect.pk if isinstance(prospect, Prospect) else prospect
    found = prospect_in_scope(actor, pk)
    audit.record(actor, "keyaccounts.view_contact", found, note="查看备案客户联系方式")
    return {"contact_name": found.contact_name, "contact_phone": found.contact_phone}


@action("keyaccounts.convert_prospect", permission="prospect.convert")
def do_convert_prospect(actor: User, prospect: Prospect | int) -> Prospect:
    """签约转化 — a won prospect becomes a customer through the customers app's create action, from what was
    registered (name, credit code, address, region, contact): nothing is typed again. The customer is created
    (audited as such) under this action's own permission: converting needs no right to edit customer records."""
    from gridcare.customers.actions import create_customer
    from gridcare.customers.models import Customer

    pk = prospect.pk if isinstance(prospect, Prospect) else prospect
    found = prospect_in_scope(actor, pk, write=True)
    found = Prospect.objects.select_for_update().get(pk=found.pk)
    if found.stage != Prospect.Stage.WON or found.status != Prospect.Status.HELD:
        raise Conflict(
            "只有已签约且备案有效的客户可以转为正式客户。 (Only a won, held prospect can be converted.)"
        )
    if not found.credit_code:
        raise InvalidInput(
            {"credit_code": "转为客户需要统一社会信用代码。 (Conversion needs the credit code.)"}
        )
    contacts = [{"name": found.contact_name, "mobile": found.contact_phone}] if found.contact_phone else []
    customer = create_customer(
        actor,
        name=found.name,
        kind=Customer.Kind.ORGANISATION,
        id_type=Customer.IdType.CREDIT_CODE,
        id_number=found.credit_code,
        org_unit=found.region,
        address=found.address,
        contacts=contacts,
    )
    before = _snapshot(found)
    found.customer, found.status = customer, Prospect.Status.CONVERTED
    _touch(found)
    found.save(update_fields=["customer", "status", "last_activity_at"])
    old, new = audit.diff(before, _snapshot(found))
    audit.record(
        actor, "keyaccounts.convert_prospect", found, before=old, after={**new, "customer": customer.pk}
    )
    return found


@action("keyaccounts.decide_collision", permission="prospect.view_all")
def do_decide_collision(actor: User, collision: Collision | int, *, transfer: bool, note: str) -> Collision:
    """A manager decides a disputed registration: keep it with the holder, or hand the prospect to the
    claimant (who becomes its owner, the registration counting from now)."""
    from gridcare.core.access import get_in_scope

    pk = collision.pk if isinstance(collision, Collision) else collision
    found = get_in_scope(Collision.objects.select_for_update(of=("self",)), actor, write=True, pk=pk)
    if found.decision != Collision.Decision.OPEN:
        raise Conflict("该撞单已处理。 (This collision was decided already.)")
    if not note.strip():
        raise InvalidInput({"note": "请填写处理意见。 (A note is required.)"})
    if transfer:
        if found.prospect_id is None:
            raise InvalidInput({"transfer": "已是客户的撞单不能移交。 (A customer cannot be handed over.)"})
        held = prospect_in_scope(actor, found.prospect_id, write=True)
        held = Prospect.objects.select_for_update().get(pk=held.pk)
        if held.status != Prospect.Status.HELD:
            raise Conflict("该备案已过期或已转为客户。 (The registration expired or was converted.)")
        before = _snapshot(held)
        held.owner, held.unit_id = found.claimant, found.claimant.org_unit_id or held.unit_id
        _touch(held)
        held.save(update_fields=["owner", "unit", "last_activity_at"])
        old, new = audit.diff(before, _snapshot(held))
        audit.record(actor, "keyaccounts.transfer_prospect", held, before=old, after=new, note=note.strip())
    found.decision = Collision.Decision.TRANSFERRED if transfer else Collision.Decision.KEPT
    found.decided_by, found.decided_at, found.decision_note = actor, timezone.now(), note.strip()[:200]
    found.save(update_fields=["decision", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor, "keyaccounts.decide_collision", found, after={"decision": found.decision, "note": note}
    )
    return found


JOB = "keyaccounts.expire_registrations"


@action(JOB, permission=None)
def do_expire_registrations(actor: User, *, now: dt.datetime | None = None) -> int:
    """备案过期释放 — held, not-won registrations idle for ``REGISTRATION_IDLE_DAYS`` become free. Run under the
    job's lock (a second copy skips) and claimed by a conditional update, so running it twice frees each
    registration once."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=int(conf("REGISTRATION_IDLE_DAYS")))
    with job_lock(JOB):
        idle = Prospect.objects.filter(status=Prospect.Status.HELD, last_activity_at__lt=cutoff).exclude(
            stage=Prospect.Stage.WON
        )
        ids = list(idle.order_by("pk").values_list("pk", flat=True))
        freed = Prospect.objects.filter(pk__in=ids, status=Prospect.Status.HELD).update(
            status=Prospect.Status.EXPIRED
        )
        audit.bulk_record(
            actor,
            "keyaccounts.expire_registration",
            (
                {
                    "object_type": "keyaccounts.prospect",
                    "object_id": pk,
                    "before": {"status": "held"},
                    "after": {"status": "expired"},
                }
                for pk in ids
            ),
        )
        audit.record(actor, JOB, object_type="keyaccounts.prospect", object_id="*", after={"freed": freed})
    return freed
