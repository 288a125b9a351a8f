"""The contractor qualification register (施工/设计单位资质审查): units, their certificates, their record."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput, NotFound
from gridcare.customers.validators import id_number_error
from gridcare.engine.names import normalise_credit_code
from gridcare.market.models import (
    GRADES,
    QUALIFIES,
    Contractor,
    ContractorKind,
    Grade,
    PerformanceRecord,
    Qualification,
    QualificationType,
)
from gridcare.market.selectors import check_selectable
from gridcare.org.models import User

PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
CONTRACTOR_FIELDS = ["name", "kind", "credit_code", "contact_name", "contact_phone", "address"]
QUALIFICATION_FIELDS = [
    "contractor_id",
    "qualification_type",
    "grade",
    "certificate_no",
    "valid_from",
    "valid_to",
]


def _contractor(pk: Any) -> Contractor:
    found = (
        Contractor.objects.select_for_update().filter(pk=pk.pk if isinstance(pk, Contractor) else pk).first()
    )
    if found is None:
        raise NotFound("未找到该施工/设计单位。 (Contractor not found.)")
    return found


@action("market.register_contractor", permission="contractor.manage")
def do_register_contractor(
    actor: User,
    *,
    name: str,
    kind: str,
    credit_code: str,
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
) -> Contractor:
    """登记施工/设计单位 — name and credit code are unique in the register."""
    errors: dict[str, str] = {}
    name = str(name or "").strip()
    if not name or len(name) > 120:
        errors["name"] = "请填写单位名称（最长 120 字）。 (A name of at most 120 characters is required.)"
    if kind not in ContractorKind.values:
        errors["kind"] = "单位类别应为施工单位或设计单位。 (Kind must be construction or design.)"
    code = normalise_credit_code(str(credit_code or ""))
    problem = (
        id_number_error("credit_code", code) if code else "请填写统一社会信用代码。 (Credit code required.)"
    )
    if problem:
        errors["credit_code"] = problem
    phone = str(contact_phone or "").strip()
    if phone and not PHONE.match(phone):
        errors["contact_phone"] = "联系电话格式不正确。 (Invalid phone number.)"
    if errors:
        raise InvalidInput(errors)
    if Contractor.objects.filter(name=name).exists():
        raise Conflict(f"「{name}」已在资质库中。 (A unit of this name is registered.)")
    if Contractor.objects.filter(credit_code=code).exists():
        raise Conflict(f"统一社会信用代码 {code} 已在资质库中。 (This credit code is registered.)")
    contractor = Contractor.objects.create(
        name=name,
        kind=kind,
        credit_code=code,
        contact_name=str(contact_name or "").strip()[:60],
        contact_phone=phone,
        address=str(address or "").strip()[:200],
        registered_by=actor,
    )
    audit.record(
        actor, "market.register_contractor", contractor, after=audit.snapshot(contractor, CONTRACTOR_FIELDS)
    )
    return contractor


@action("market.add_qualification", permission="contractor.manage")
def do_add_qualification(
    actor: User,
    contractor: Contractor | int,
    *,
    qualification_type: str,
    grade: str,
    certificate_no: str,
    valid_from: dt.date,
    valid_to: dt.date,
) -> Qualification:
    """登记资质证书 — a type that qualifies the unit's kind (承装/承修/承试 for construction, 设计 for design), a
    grade of that type (一级…五级 / 甲乙丙), a certificate number unique in the register, valid from ≤ to."""
    found = _contractor(contractor)
    errors: dict[str, str] = {}
    if qualification_type not in QualificationType.values:
        errors["qualification_type"] = "资质类别不存在。 (Unknown qualification type.)"
    elif qualification_type not in QUALIFIES[found.kind]:
        errors["qualification_type"] = (
            f"{QualificationType(qualification_type).label}不适用于{found.get_kind_display()}。 "
            f"(This type does not qualify a unit of this kind.)"
        )
    elif grade not in GRADES[qualification_type]:
        allowed = "、".join(str(Grade(g).label) for g in GRADES[qualification_type])
        errors["grade"] = f"该资质类别的等级应为 {allowed}。 (Grade not of this type: {allowed}.)"
    number = str(certificate_no or "").strip()
    if not number or len(number) > 40:
        errors["certificate_no"] = "请填写证书编号（最长 40 字）。 (Certificate number required.)"
    if not isinstance(valid_from, dt.date) or not isinstance(valid_to, dt.date):
        errors["valid_to"] = "请填写有效期。 (The validity is required.)"
    elif valid_to < valid_from:
        errors["valid_to"] = "有效期截止日早于起始日。 (Valid to is before valid from.)"
    if errors:
        raise InvalidInput(errors)
    if Qualification.objects.filter(certificate_no=number).exists():
        raise Conflict(f"证书编号 {number} 已登记。 (This certificate number is registered.)")
    qualification = Qualification.objects.create(
        contractor=found,
        qualification_type=qualification_type,
        grade=grade,
        certificate_no=number,
        valid_from=valid_from,
        valid_to=valid_to,
        recorded_by=actor,
    )
    audit.record(
        actor,
        "market.add_qualification",
        qualification,
        after=audit.snapshot(qualification, QUALIFICATION_FIELDS),
    )
    return qualification


@action("market.record_performance", permission="contractor.manage")
def do_record_performance(
    actor: User,
    contractor: Contractor | int,
    *,
    kind: str,
    project: str,
    happened_on: dt.date,
    rating: int | None = None,
    description: str = "",
) -> PerformanceRecord:
    """业绩记录 — a project given to the unit (only if it holds a qualification valid that day: an expired one is
    refused with the reason), a rating 1–5 of its work, or a complaint (with what happened)."""
    found = _contractor(contractor)
    errors: dict[str, str] = {}
    project = str(project or "").strip()
    description = str(description or "").strip()
    if kind not in PerformanceRecord.Kind.values:
        errors["kind"] = "记录类型应为项目、评价或投诉。 (Kind must be project, rating or complaint.)"
    if not project or len(project) > 120:
        errors["project"] = "请填写项目名称（最长 120 字）。 (A project name is required.)"
    if not isinstance(happened_on, dt.date):
        errors["happened_on"] = "请填写日期。 (A date is required.)"
    if kind == PerformanceRecord.Kind.RATING and (not isinstance(rating, int) or not 1 <= rating <= 5):
        errors["rating"] = "评价应为 1–5 分。 (A rating of 1–5 is required.)"
    if kind != PerformanceRecord.Kind.RATING and rating is not None:
        errors["rating"] = "只有评价记录填写分数。 (Only a rating record has a score.)"
    if kind == PerformanceRecord.Kind.COMPLAINT and not description:
        errors["description"] = "请填写投诉内容。 (Describe the complaint.)"
    if len(description) > 300:
        errors["description"] = "说明最长 300 字。 (At most 300 characters.)"
    if errors:
        raise InvalidInput(errors)
    qualification = (
        check_selectable(found, found.kind, happened_on) if kind == PerformanceRecord.Kind.PROJECT else None
    )
    record = PerformanceRecord.objects.create(
        contractor=found,
        kind=kind,
        project=project,
        happened_on=happened_on,
        rating=rating,
        description=description,
        qualification=qualification,
        recorded_by=actor,
    )
    audit.record(
        actor,
        "market.record_performance",
        record,
        after={
            "contractor": found.pk,
            "kind": kind,
            "project": project,
            "happened_on": str(happened_on),
            "rating": rating,
            "qualification": qualification.certificate_no if qualification else None,
        },
    )
    return record
