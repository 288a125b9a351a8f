"""Writes of the customers app (客户档案): each one permission-checked, scoped, validated and audited.

Effective-dated values of a service point (电价、合同容量、合同需量、用电类别) are changed only here: the open
period is closed on the change date and the next one opened, so history is kept and periods never overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, models
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope, has_perm, require_perm, restrict
from gridcare.core.actions import action
from gridcare.core.errors import Conflict, InvalidInput
from gridcare.core.numbering import Counter, next_number
from gridcare.core.queries import other_than
from gridcare.customers.conf import setting
from gridcare.customers.masking import mask_id_number, mask_mobile
from gridcare.customers.models import (
    SUB_CLASSES,
    Account,
    CapacityPeriod,
    ClassPeriod,
    Contact,
    Customer,
    DemandPeriod,
    EffectiveDated,
    ServicePoint,
    SupplyContract,
    TariffAssignment,
)
from gridcare.customers.validators import id_number_error, mobile_error
from gridcare.org.models import OrgUnit, User

CUSTOMER_FIELDS = ["number", "kind", "name", "id_type", "id_number", "org_unit_id", "address"]
ACCOUNT_FIELDS = [
    "number",
    "customer_id",
    "name",
    "org_unit_id",
    "billing_cycle",
    "payment_method",
    "is_key_account",
    "account_manager_id",
    "credit_rating",
    "status",
]
SERVICE_POINT_FIELDS = [
    "number",
    "account_id",
    "address",
    "org_unit_id",
    "voltage_level",
    "customer_class",
    "sub_class",
    "pf_standard",
    "area_class",
    "is_important",
    "tariff_code",
    "capacity_kva",
    "contracted_demand_kw",
    "expected_monthly_kwh",
    "metering_class",
]
CONTRACT_FIELDS = [
    "number",
    "account_id",
    "supplier_name",
    "customer_name",
    "signed_on",
    "valid_from",
    "valid_to",
    "capacity_kva",
    "contracted_demand_kw",
    "status",
]


# ---------------------------------------------------------------------------------------------- helpers
def _check_scope(actor: User, obj: models.Model) -> None:
    """Refuse (as not found) when the actor's data scope does not reach ``obj``."""
    get_in_scope(type(obj)._default_manager.all(), actor, write=True, pk=obj.pk)


def _decimal(value: Any, field: str, errors: dict[str, str], *, positive: bool = True) -> Decimal | None:
    """Parse an amount; record a field error when it is not a number or (``positive``) not above zero."""
    if value is None or value == "":
        errors[field] = "请填写数值。 (A value is required.)"
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = f"「{value}」不是有效数值。 (Not a number.)"
        return None
    if not number.is_finite():
        errors[field] = f"「{value}」不是有效数值。 (Not a number.)"
        return None
    if positive and number <= 0:
        errors[field] = "数值必须大于 0。 (Must be greater than 0.)"
        return None
    if number < 0:
        errors[field] = "数值不能为负。 (Cannot be negative.)"
        return None
    return number.quantize(Decimal("0.01"))


CUSTOMER_NUMBERS = Counter("customer", "customers_customer_number_seq")
ACCOUNT_NUMBERS = Counter("account", "customers_account_number_seq")


def _next_number(model: type[models.Model], prefix: str, width: int) -> str:
    """The next number ``prefix`` + zero-padded ``max + 1`` — only for numbers inside a parent the caller has
    locked (a service point's number under its account's row lock). Customer and account numbers come from
    database sequences (:func:`gridcare.core.numbering.next_number`)."""
    last = (
        model._default_manager.filter(number__startswith=prefix, number__regex=rf"^{prefix}\d{{{width}}}$")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:0{width}d}"


class DuplicateCustomer(Conflict):
    """A customer with the same ID type and number exists: registration shows it instead of a second one."""

    code = "duplicate_customer"

    def __init__(self, existing: Customer | None) -> None:
        self.existing = existing
        if existing is None:  # outside the caller's scope: no name, no number
            super().__init__(
                "该证件号码已登记在其他供电所的客户名下，请联系该所。 "
                "(A customer with this ID number exists at another station; contact that station.)"
            )
            return
        super().__init__(
            f"已有客户「{existing.name}」（{existing.number}）使用该证件号码，请在该客户下办理。 "
            f"(Customer {existing.number} already has this ID number.)"
        )

    def as_dict(self) -> dict:
        body = super().as_dict()
        body["errors"] = {"id_number": [self.message]}
        if self.existing is not None:
            body["existing"] = {
                "id": self.existing.pk,
                "number": self.existing.number,
                "url": self.existing.get_absolute_url(),
            }
        return body


def _refuse_duplicate(actor: User, id_type: str, id_number: str, exclude: int | None = None) -> None:
    """409 naming the existing customer (if the caller may see it) when the ID is registered already."""
    if not id_number:
        return
    same = Customer.objects.filter(id_type=id_type, id_number=id_number)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    existing_pk = same.values_list("pk", flat=True).first()
    if existing_pk is None:
        return
    visible = restrict(Customer.objects.filter(pk=existing_pk), actor).first()
    raise DuplicateCustomer(visible)


def _station_error(org_unit: OrgUnit | None) -> str | None:
    if org_unit is None:
        return "请选择供电所。 (A service station is required.)"
    if org_unit.kind not in (OrgUnit.Kind.STATION, OrgUnit.Kind.BRANCH):
        return f"「{org_unit.name}」不是供电所。 (Accounts belong to a service station.)"
    return None


def _saved(instance: models.Model) -> None:
    """Save, turning a unique-constraint race into a clear 409 instead of a server error."""
    try:
        instance.save()
    except IntegrityError as exc:
        raise Conflict(f"编号冲突，请重试。 (Number conflict, please retry: {exc}.)") from None


# ---------------------------------------------------------------------------------------------- customers
def validate_customer_fields(data: Mapping[str, Any], *, instance: Customer | None = None) -> dict[str, str]:
    """Field errors of customer data (shared by the actions and the Excel import)."""
    errors: dict[str, str] = {}
    if "name" in data and not str(data["name"] or "").strip():
        errors["name"] = "请填写客户名称。 (The name is required.)"
    if "kind" in data and data["kind"] not in Customer.Kind.values:
        errors["kind"] = f"未知的客户类型「{data['kind']}」。 (Unknown customer kind.)"
    id_type = data.get("id_type", getattr(instance, "id_type", None))
    if "id_type" in data and id_type not in Customer.IdType.values:
        errors["id_type"] = f"未知的证件类型「{id_type}」。 (Unknown ID type.)"
    elif "id_number" in data or "id_type" in data:
        number = data.get("id_number", getattr(instance, "id_number", ""))
        message = id_number_error(id_type or "", str(number or ""))
        if message:
            errors["id_number"] = message
    kind = data.get("kind", getattr(instance, "kind", None))
    if kind == Customer.Kind.ORGANISATION and id_type == Customer.IdType.RESIDENT_ID:
        errors["id_type"] = "单位客户应使用统一社会信用代码等单位证件。 (Organisations use a credit code.)"
    number = data.get("number")
    if number and Customer.objects.filter(other_than(instance), number=number).exists():
        errors["number"] = f"客户编号「{number}」已存在。 (Customer number already exists.)"
    return errors


def validate_contact_fields(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not str(data.get("name") or "").strip():
        errors["name"] = "请填写联系人姓名。 (The contact name is required.)"
    message = mobile_error(str(data.get("mobile") or ""))
    if message:
        errors["mobile"] = message
    return errors


def create_customer(
    actor: User,
    *,
    name: str,
    kind: str,
    id_type: str,
    id_number: str,
    org_unit: OrgUnit,
    address: str = "",
    number: str | None = None,
    contacts: Iterable[Mapping[str, Any]] = (),
) -> Customer:
    """新建客户 — a person or organisation, with its contacts (mobile numbers validated)."""
    data = {"name": name, "kind": kind, "id_type": id_type, "id_number": id_number, "number": number}
    errors = validate_customer_fields(data)
    contacts = list(contacts)
    for index, contact in enumerate(contacts):
        for field, message in validate_contact_fields(contact).items():
            errors[f"contacts[{index}].{field}" if len(contacts) > 1 else f"contact_{field}"] = message
    if errors:
        raise InvalidInput(errors)
    _check_scope(actor, org_unit)
    _refuse_duplicate(actor, id_type, id_number.strip().upper())
    customer = Customer(
        number=number or next_number(CUSTOMER_NUMBERS, Customer, "KH", 10),
        kind=kind,
        name=name.strip(),
        id_type=id_type,
        id_number=id_number.strip().upper(),
        org_unit=org_unit,
        address=address.strip(),
    )
    _saved(customer)
    after = audit.snapshot(customer, CUSTOMER_FIELDS)
    after["id_number"] = mask_id_number(customer.id_number)
    created = []
    for index, contact in enumerate(contacts):
        created.append(
            Contact.objects.create(
                customer=customer,
                name=contact["name"].strip(),
                mobile=contact["mobile"].strip(),
                role=contact.get("role", ""),
                is_primary=contact.get("is_primary", index == 0),
            )
        )
    after["contacts"] = [{"name": c.name, "mobile": mask_mobile(c.mobile)} for c in created]
    audit.record(actor, "customers.create_customer", customer, after=after)
    return customer


#: 新建客户 by a person who maintains customer records; an action that creates a customer as part of its own work
#: (a won prospect's conversion) calls :func:`create_customer` under its own permission
do_create_customer = action("customers.create_customer", permission="customer.manage")(create_customer)


@action("customers.update_customer", permission="customer.manage")
def do_update_customer(actor: User, customer: Customer, **changes: Any) -> Customer:
    """Correct a customer's name, ID, address or managing unit (过户 is a separate business)."""
    allowed = {"name", "kind", "id_type", "id_number", "address", "org_unit"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput({f: "此字段不能在此修改。 (Not editable here.)" for f in sorted(unknown)})
    _check_scope(actor, customer)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    errors = validate_customer_fields(changes, instance=customer)
    if errors:
        raise InvalidInput(errors)
    if "org_unit" in changes:
        _check_scope(actor, changes["org_unit"])
    before = audit.snapshot(customer, CUSTOMER_FIELDS)
    for field, value in changes.items():
        setattr(customer, field, value.strip() if isinstance(value, str) else value)
    customer.id_number = customer.id_number.upper()
    if "id_number" in changes or "id_type" in changes:
        _refuse_duplicate(actor, customer.id_type, customer.id_number, exclude=customer.pk)
    _saved(customer)
    old, new = audit.diff(before, audit.snapshot(customer, CUSTOMER_FIELDS))
    for values in (old, new):
        if "id_number" in values:
            values["id_number"] = mask_id_number(values["id_number"])
    audit.record(actor, "customers.update_customer", customer, before=old, after=new)
    return customer


@action("customers.add_contact", permission="customer.manage")
def do_add_contact(
    actor: User, customer: Customer, *, name: str, mobile: str, role: str = "", is_primary: bool = False
) -> Contact:
    errors = validate_contact_fields({"name": name, "mobile": mobile})
    if errors:
        raise InvalidInput(errors)
    _check_scope(actor, customer)
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact = Contact.objects.create(
        customer=customer, name=name.strip(), mobile=mobile.strip(), role=role, is_primary=is_primary
    )
    audit.record(
        actor,
        "customers.add_contact",
        contact,
        object_repr=f"{contact.name} {mask_mobile(contact.mobile)}",
        after={"customer_id": customer.pk, "name": contact.name, "mobile": mask_mobile(contact.mobile)},
    )
    return contact


@action("customers.unmask", permission="customer.unmask")
def do_unmask_customer(actor: User, customer: Customer, *, reason: str = "") -> dict[str, Any]:
    """查看敏感信息 — the clear ID number and mobile numbers; every look is written to the audit log."""
    _check_scope(actor, customer)
    contacts = list(customer.contacts.order_by("-is_primary", "name").values("id", "name", "mobile"))
    audit.record(
        actor,
        "customers.unmask",
        customer,
        note=reason or "查看证件号码与联系电话 (viewed ID and phone numbers)",
        after={"fields": ["id_number", "contacts.mobile"]},
    )
    return {"id": customer.pk, "id_number": customer.id_number, "contacts": contacts}


# ---------------------------------------------------------------------------------------------- accounts
def validate_account_fields(data: Mapping[str, Any], *, instance: Account | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    number = data.get("number")
    if "number" in data:
        if not number or not str(number).isdigit():
            errors["number"] = "户号应为数字。 (An account number is made of digits.)"
        elif Account.objects.filter(other_than(instance), number=number).exists():
            errors["number"] = f"户号「{number}」已存在。 (Account number already exists.)"
    if "name" in data and not str(data["name"] or "").strip():
        errors["name"] = "请填写户名。 (The account name is required.)"
    for field, choices in (
        ("billing_cycle", Account.BillingCycle.values),
        ("payment_method", Account.PaymentMethod.values),
        ("credit_rating", Account.CreditRating.values),
        ("status", Account.Status.values),
    ):
        if field in data and data[field] not in choices:
            errors[field] = f"无效的取值「{data[field]}」。 (Invalid choice.)"
    if "org_unit" in data:
        message = _station_error(data["org_unit"])
        if message:
            errors["org_unit"] = message
    manager = data.get("account_manager")
    if manager is not None and (
        not manager.is_active or manager.left_on is not None or not has_perm(manager, "keyaccount.manage")
    ):
        errors["account_manager"] = (
            f"{manager.display_name} 不是在岗的大客户经理。 (Not an active key account manager.)"
        )
    return errors


#: Financial terms are not archive work (客服代表不能做任何财务变更): who may change what.
ARCHIVE = "customer.manage"
TERMS = "servicepoint.change_terms"
ACCOUNT_FIELD_PERMISSIONS = {"credit_rating": "account.rate_credit", "status": "account.change_status"}
SERVICE_POINT_FIELD_PERMISSIONS = {"voltage_level": TERMS, "pf_standard": TERMS}


def require_for_changes(
    actor: User, instance: Any, changes: Mapping[str, Any], codes: Mapping[str, str]
) -> None:
    """Each field that actually changes needs its permission (``codes``, else the archive permission); a change
    that changes nothing still needs one of them."""
    needed = {
        codes.get(field, ARCHIVE)
        for field, value in changes.items()
        if getattr(instance, field, None) != value
    }
    if not needed:
        if not any(has_perm(actor, code) for code in {ARCHIVE, *codes.values()}):
            require_perm(actor, ARCHIVE)
        return
    for code in sorted(needed):
        require_perm(actor, code)


@action("customers.create_account", permission="customer.manage")
def do_create_account(
    actor: User,
    *,
    customer: Customer,
    org_unit: OrgUnit,
    name: str = "",
    number: str | None = None,
    billing_cycle: str = Account.BillingCycle.MONTHLY,
    payment_method: str = Account.PaymentMethod.COUNTER,
    is_key_account: bool = False,
    account_manager: User | None = None,
    credit_rating: str = Account.CreditRating.A,
) -> Account:
    """开户 — a billing account (户号) of a customer at a service station."""
    number = number or next_number(ACCOUNT_NUMBERS, Account, str(setting("account_number_prefix")), 8)
    data = {
        "number": number,
        "name": name or customer.name,
        "billing_cycle": billing_cycle,
        "payment_method": payment_method,
        "credit_rating": credit_rating,
        "org_unit": org_unit,
        "account_manager": account_manager,
    }
    errors = validate_account_fields(data)
    if errors:
        raise InvalidInput(errors)
    if credit_rating != Account.CreditRating.A:  # a rating other than the opening one is a credit decision
        require_perm(actor, ACCOUNT_FIELD_PERMISSIONS["credit_rating"])
    _check_scope(actor, customer)
    _check_scope(actor, org_unit)
    account = Account(
        customer=customer,
        number=number,
        name=(name or customer.name).strip(),
        org_unit=org_unit,
        billing_cycle=billing_cycle,
        payment_method=payment_method,
        is_key_account=is_key_account,
        account_manager=account_manager,
        credit_rating=credit_rating,
    )
    _saved(account)
    audit.record(actor, "customers.create_account", account, after=audit.snapshot(account, ACCOUNT_FIELDS))
    return account


@action("customers.update_account", permission=None)  # per changed field: ACCOUNT_FIELD_PERMISSIONS
def do_update_account(actor: User, account: Account, **changes: Any) -> Account:
    """Change billing cycle, payment method, key-account flag, account manager, credit rating or status."""
    allowed = {
        "name",
        "billing_cycle",
        "payment_method",
        "is_key_account",
        "account_manager",
        "credit_rating",
        "status",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput({f: "此字段不能在此修改。 (Not editable here.)" for f in sorted(unknown)})
    errors = validate_account_fields(changes, instance=account)
    if errors:
        raise InvalidInput(errors)
    require_for_changes(actor, account, changes, ACCOUNT_FIELD_PERMISSIONS)
    _check_scope(actor, account)
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = audit.snapshot(account, ACCOUNT_FIELDS)
    for field, value in changes.items():
        setattr(account, field, value)
    account.save()
    old, new = audit.diff(before, audit.snapshot(account, ACCOUNT_FIELDS))
    audit.record(actor, "customers.update_account", account, before=old, after=new)
    return account


# ---------------------------------------------------------------------------------------------- service points
CHOICES = {
    "voltage_level": frozenset(ServicePoint.VoltageLevel.values),
    "customer_class": frozenset(ServicePoint.CustomerClass.values),
    "pf_standard": frozenset(ServicePoint.PowerFactorStandard.values),
    "area_class": frozenset(ServicePoint.AreaClass.values),
}


def validate_service_point_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """Field errors of service point attributes (shared by the actions and the Excel import)."""
    errors: dict[str, str] = {}
    if "address" in data and not str(data["address"] or "").strip():
        errors["address"] = "请填写用电地址。 (The address is required.)"
    for field, choices in (
        ("voltage_level", CHOICES["voltage_level"]),
        ("customer_class", CHOICES["customer_class"]),
        ("pf_standard", CHOICES["pf_standard"]),
        ("area_class", CHOICES["area_class"]),
    ):
        if field in data and data[field] not in choices:
            errors[field] = f"无效的取值「{data[field]}」。 (Invalid choice.)"
    sub_class = data.get("sub_class")
    if sub_class and data.get("customer_class") in SUB_CLASSES:
        allowed = SUB_CLASSES[data["customer_class"]]
        if sub_class not in allowed:
            errors["sub_class"] = f"用电子类应为：{'、'.join(allowed)}。 (Unknown sub-class for this class.)"
    if "org_unit" in data:
        message = _station_error(data["org_unit"])
        if message:
            errors["org_unit"] = message
    if "tariff_code" in data and not str(data["tariff_code"] or "").strip():
        errors["tariff_code"] = "请填写电价代码。 (A tariff code is required.)"
    return errors


def demand_error(capacity: Decimal | None, demand: Decimal | None) -> str | None:
    """两部制: the contracted demand may not be below the configured share (40%) of the capacity."""
    if capacity is None or demand is None:
        return None
    ratio = Decimal(str(setting("min_demand_ratio")))
    if demand < capacity * ratio:
        return (
            f"合同需量不得低于合同容量的 {ratio:.0%}（{(capacity * ratio).quantize(Decimal('0.01'))} kW）。"
            f" (Contracted demand must be at least {ratio:.0%} of the capacity.)"
        )
    return None


@action("customers.create_service_point", permission="customer.manage")
def do_create_service_point(
    actor: User,
    *,
    account: Account,
    address: str,
    voltage_level: str,
    customer_class: str,
    tariff_code: str,
    capacity_kva: Decimal | str,
    valid_from: dt.date | None = None,
    org_unit: OrgUnit | None = None,
    sub_class: str = "",
    pf_standard: str = ServicePoint.PowerFactorStandard.NONE,
    area_class: str = ServicePoint.AreaClass.URBAN,
    is_important: bool = False,
    contracted_demand_kw: Decimal | str | None = None,
    expected_monthly_kwh: Decimal | str = Decimal("0"),
    number: str | None = None,
) -> ServicePoint:
    """新建用电地址 — with its first tariff, capacity, (demand) and class periods starting ``valid_from``."""
    org_unit = org_unit or account.org_unit
    data = {
        "address": address,
        "voltage_level": voltage_level,
        "customer_class": customer_class,
        "sub_class": sub_class,
        "pf_standard": pf_standard,
        "area_class": area_class,
        "org_unit": org_unit,
        "tariff_code": tariff_code,
    }
    errors = validate_service_point_fields(data)
    capacity = _decimal(capacity_kva, "capacity_kva", errors)
    demand = None
    if contracted_demand_kw not in (None, ""):
        demand = _decimal(contracted_demand_kw, "contracted_demand_kw", errors)
        message = demand_error(capacity, demand)
        if message:
            errors["contracted_demand_kw"] = message
    energy = _decimal(expected_monthly_kwh or 0, "expected_monthly_kwh", errors, positive=False)
    if number and ServicePoint.objects.filter(number=number).exists():
        errors["number"] = f"用电地址编号「{number}」已存在。 (Service point number already exists.)"
    if errors:
        raise InvalidInput(errors)
    assert capacity is not None and energy is not None  # _decimal answered None only with an error
    _check_scope(actor, account)
    account = Account.objects.select_for_update().get(pk=account.pk)
    start = valid_from or timezone.localdate()
    point = ServicePoint(
        number=number or _next_number(ServicePoint, account.number, 2),
        account=account,
        address=address.strip(),
        org_unit=org_unit,
        voltage_level=voltage_level,
        customer_class=customer_class,
        sub_class=sub_class,
        pf_standard=pf_standard,
        area_class=area_class,
        is_important=is_important,
        tariff_code=tariff_code.strip(),
        capacity_kva=capacity,
        contracted_demand_kw=demand,
        expected_monthly_kwh=energy,
    )
    from gridcare.metering.selectors import metering_class_of

    point.metering_class = metering_class_of(point)
    _saved(point)
    TariffAssignment.objects.create(service_point=point, valid_from=start, tariff_code=point.tariff_code)
    CapacityPeriod.objects.create(service_point=point, valid_from=start, capacity_kva=capacity)
    if demand is not None:
        DemandPeriod.objects.create(service_point=point, valid_from=start, contracted_demand_kw=demand)
    ClassPeriod.objects.create(
        service_point=point, valid_from=start, customer_class=customer_class, sub_class=sub_class
    )
    after = audit.snapshot(point, SERVICE_POINT_FIELDS)
    after["valid_from"] = start
    audit.record(actor, "customers.create_service_point", point, after=after)
    return point


@action("customers.update_service_point", permission=None)  # per field: SERVICE_POINT_FIELD_PERMISSIONS
def do_update_service_point(actor: User, point: ServicePoint, **changes: Any) -> ServicePoint:
    """Correct the address, voltage, power-factor standard, area class, important flag or expected energy.

    Tariff, capacity, demand and class are effective-dated and change through their own actions.
    """
    allowed = {
        "address",
        "voltage_level",
        "pf_standard",
        "area_class",
        "is_important",
        "expected_monthly_kwh",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(
            {
                f: "此字段按生效日期变更，请使用对应的变更操作。 (Changed by its own dated action.)"
                for f in sorted(unknown)
            }
        )
    errors = validate_service_point_fields(changes)
    if "expected_monthly_kwh" in changes:
        changes["expected_monthly_kwh"] = _decimal(
            changes["expected_monthly_kwh"], "expected_monthly_kwh", errors, positive=False
        )
    if errors:
        raise InvalidInput(errors)
    require_for_changes(actor, point, changes, SERVICE_POINT_FIELD_PERMISSIONS)
    _check_scope(actor, point)
    point = ServicePoint.objects.select_for_update().get(pk=point.pk)
    before = audit.snapshot(point, SERVICE_POINT_FIELDS)
    for field, value in changes.items():
        setattr(point, field, value.strip() if isinstance(value, str) else value)
    point.save()
    _refresh_metering(point)
    old, new = audit.diff(before, audit.snapshot(point, SERVICE_POINT_FIELDS))
    audit.record(actor, "customers.update_service_point", point, before=old, after=new)
    return point


def _refresh_metering(point: ServicePoint) -> None:
    """Capacity, voltage or energy decide the metering class (计量装置分类) and so the on-site test plan."""
    from gridcare.metering.selectors import refresh_metering_class

    refresh_metering_class(point)


def open_next_period(
    model: type[EffectiveDated], point: ServicePoint, valid_from: dt.date, values: Mapping[str, Any]
) -> tuple[EffectiveDated | None, EffectiveDated]:
    """Close the open period of ``model`` on ``valid_from`` and open the next one with ``values``.

    Refused when the new start is not after the open period's start or falls inside a closed period
    (periods never overlap), or when nothing changes. The caller holds the service point's row lock.
    """
    if valid_from is None:
        raise InvalidInput({"valid_from": "请填写生效日期。 (The effective date is required.)"})
    periods = list(model._default_manager.filter(service_point=point).order_by("valid_from"))
    current = next((p for p in periods if p.valid_to is None), None)
    clash = [
        p
        for p in periods
        if (p.valid_to is None and p.valid_from >= valid_from)
        or (p.valid_to is not None and p.valid_to > valid_from)
    ]
    if clash:
        other = clash[0]
        raise InvalidInput(
            {
                "valid_from": (
                    f"生效日期 {valid_from:%Y-%m-%d} 与已有时段 [{other.valid_from:%Y-%m-%d}, "
                    f"{other.valid_to.strftime('%Y-%m-%d') if other.valid_to else '至今'}) 重叠；"
                    "新时段必须晚于当前时段的开始日期。"
                    f" (Overlaps the period starting {other.valid_from}; a change must start after it.)"
                )
            }
        )
    if current is not None and all(getattr(current, k) == v for k, v in values.items()):
        raise InvalidInput({next(iter(values)): "与当前值相同，无需变更。 (Same as the current value.)"})
    if current is not None:
        current.valid_to = valid_from
        current.save(update_fields=["valid_to"])
    new = model._default_manager.create(service_point=point, valid_from=valid_from, **values)
    return current, new


def _period_change(
    actor: User,
    code: str,
    point: ServicePoint,
    model: type[EffectiveDated],
    valid_from: dt.date,
    values: dict[str, Any],
    reason: str,
) -> ServicePoint:
    """The shared body of the dated changes: lock, close/open the period, mirror the open value, audit."""
    _check_scope(actor, point)
    point = ServicePoint.objects.select_for_update().get(pk=point.pk)
    before_values = {k: getattr(point, k) for k in values}
    current, new = open_next_period(model, point, valid_from, values)
    for field, value in values.items():
        setattr(point, field, value)
    point.save(update_fields=list(values))
    _refresh_metering(point)
    audit.record(
        actor,
        code,
        point,
        before={**before_values, "valid_from": current.valid_from if current else None},
        after={**values, "valid_from": new.valid_from},
        note=reason,
    )
    return point


@action("customers.change_tariff", permission=TERMS)
def do_change_tariff(
    actor: User, point: ServicePoint, *, tariff_code: str, valid_from: dt.date, reason: str = ""
) -> ServicePoint:
    """电价变更 — bill the service point on another tariff from ``valid_from`` on."""
    if not (tariff_code or "").strip():
        raise InvalidInput({"tariff_code": "请填写电价代码。 (A tariff code is required.)"})
    return _period_change(
        actor,
        "customers.change_tariff",
        point,
        TariffAssignment,
        valid_from,
        {"tariff_code": tariff_code.strip()},
        reason,
    )


@action("customers.change_capacity", permission=TERMS)
def do_change_capacity(
    actor: User, point: ServicePoint, *, capacity_kva: Decimal | str, valid_from: dt.date, reason: str = ""
) -> ServicePoint:
    """增容/减容 — a new contracted capacity (kVA) from ``valid_from``; must stay above zero."""
    errors: dict[str, str] = {}
    capacity = _decimal(capacity_kva, "capacity_kva", errors)
    if capacity is not None:
        message = demand_error(capacity, point.contracted_demand_kw)
        if message:
            errors["capacity_kva"] = message
    if errors:
        raise InvalidInput(errors)
    return _period_change(
        actor,
        "customers.change_capacity",
        point,
        CapacityPeriod,
        valid_from,
        {"capacity_kva": capacity},
        reason,
    )


@action("customers.change_demand", permission=TERMS)
def do_change_demand(
    actor: User,
    point: ServicePoint,
    *,
    contracted_demand_kw: Decimal | str,
    valid_from: dt.date,
    reason: str = "",
) -> ServicePoint:
    """需量变更 — a new contracted demand (kW) of a two-part customer, at least 40% of the capacity."""
    errors: dict[str, str] = {}
    demand = _decimal(contracted_demand_kw, "contracted_demand_kw", errors)
    if demand is not None:
        message = demand_error(point.capacity_kva, demand)
        if message:
            errors["contracted_demand_kw"] = message
    if errors:
        raise InvalidInput(errors)
    return _period_change(
        actor,
        "customers.change_demand",
        point,
        DemandPeriod,
        valid_from,
        {"contracted_demand_kw": demand},
        reason,
    )


@action("customers.change_class", permission=TERMS)
def do_change_class(
    actor: User,
    point: ServicePoint,
    *,
    customer_class: str,
    valid_from: dt.date,
    sub_class: str = "",
    reason: str = "",
) -> ServicePoint:
    """改类 — a new customer class (居民生活/一般工商业/大工业/农业生产) and sub-class from ``valid_from``."""
    errors = validate_service_point_fields({"customer_class": customer_class, "sub_class": sub_class})
    if errors:
        raise InvalidInput(errors)
    return _period_change(
        actor,
        "customers.change_class",
        point,
        ClassPeriod,
        valid_from,
        {"customer_class": customer_class, "sub_class": sub_class},
        reason,
    )


# ---------------------------------------------------------------------------------------------- contracts
@action("customers.create_contract", permission="customer.manage")
def do_create_contract(
    actor: User,
    *,
    account: Account,
    number: str,
    signed_on: dt.date,
    valid_from: dt.date,
    valid_to: dt.date,
    capacity_kva: Decimal | str,
    contracted_demand_kw: Decimal | str | None = None,
    supplier_name: str = "",
    customer_name: str = "",
) -> SupplyContract:
    """签订供用电合同 — parties, term, contracted capacity and demand of an account."""
    errors: dict[str, str] = {}
    if not (number or "").strip():
        errors["number"] = "请填写合同编号。 (The contract number is required.)"
    elif SupplyContract.objects.filter(number=number.strip()).exists():
        errors["number"] = f"合同编号「{number}」已存在。 (Contract number already exists.)"
    if valid_from and valid_to and valid_to <= valid_from:
        errors["valid_to"] = "合同到期日必须晚于起始日。 (The term must end after it starts.)"
    capacity = _decimal(capacity_kva, "capacity_kva", errors)
    demand = None
    if contracted_demand_kw not in (None, ""):
        demand = _decimal(contracted_demand_kw, "contracted_demand_kw", errors)
        message = demand_error(capacity, demand)
        if message:
            errors["contracted_demand_kw"] = message
    if errors:
        raise InvalidInput(errors)
    assert capacity is not None  # _decimal answered None only with an error recorded
    _check_scope(actor, account)
    contract = SupplyContract(
        number=number.strip(),
        account=account,
        supplier_name=supplier_name or str(setting("supplier_name")),
        customer_name=customer_name or account.customer.name,
        signed_on=signed_on,
        valid_from=valid_from,
        valid_to=valid_to,
        capacity_kva=capacity,
        contracted_demand_kw=demand,
    )
    _saved(contract)
    audit.record(
        actor, "customers.create_contract", contract, after=audit.snapshot(contract, CONTRACT_FIELDS)
    )
    return contract


@action("customers.terminate_contract", permission="customer.manage")
def do_terminate_contract(actor: User, contract: SupplyContract, *, reason: str) -> SupplyContract:
    """终止合同 — e.g. on 销户; a reason is required."""
    if not (reason or "").strip():
        raise InvalidInput({"reason": "请填写原因。 (A reason is required.)"})
    _check_scope(actor, contract)
    contract = SupplyContract.objects.select_for_update().get(pk=contract.pk)
    if contract.status != SupplyContract.Status.ACTIVE:
        raise InvalidInput({"status": "合同已终止。 (The contract is already terminated.)"})
    contract.status = SupplyContract.Status.TERMINATED
    contract.save(update_fields=["status"])
    audit.record(
        actor,
        "customers.terminate_contract",
        contract,
        before={"status": SupplyContract.Status.ACTIVE},
        after={"status": contract.status},
        note=reason.strip(),
    )
    return contract


# ---------------------------------------------------------------------------------------------- import
@action("customers.import", permission=None)
def do_import(actor: User, *, importer: Any, rows: int) -> dict[str, int]:
    """批量导入 — write a fully validated sheet in one transaction (bulk inserts, one audit row per record)."""
    from gridcare.core.access import require_perm

    require_perm(actor, importer.permission)
    created = importer.write()
    audit.record(
        actor,
        "customers.import",
        object_type=f"import.{importer.kind}",
        object_id="*",
        object_repr=importer.title,
        after={"rows": rows, **created},
    )
    return created
