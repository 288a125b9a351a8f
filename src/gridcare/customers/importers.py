"""The customer import sheet (客户档案批量导入): one row per service point, with optional meter columns.

Checks reuse the validators of the actions (ID checksums, mobile numbers, service point rules, meter rules);
database look-ups are done once per file in chunks, never per row.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import has_perm, restrict
from gridcare.core.collector import gc_paused
from gridcare.core.errors import InvalidInput
from gridcare.core.numbering import reserve_numbers
from gridcare.customers.actions import demand_error, validate_service_point_fields
from gridcare.customers.bulk import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    CUSTOMER_COLUMNS,
    BulkWriter,
    insert_service_points,
)
from gridcare.customers.importing import Column, Importer
from gridcare.customers.models import (
    Account,
    Contact,
    Customer,
    ServicePoint,
)
from gridcare.customers.validators import id_number_error, mobile_error
from gridcare.org.models import OrgUnit, User

READ_COLUMNS = [
    ("read_active_total", "起度-有功总", "active_total"),
    ("read_active_sharp", "起度-尖", "active_sharp"),
    ("read_active_peak", "起度-峰", "active_peak"),
    ("read_active_flat", "起度-平", "active_flat"),
    ("read_active_valley", "起度-谷", "active_valley"),
    ("read_reactive_total", "起度-无功", "reactive_total"),
]
ACCOUNT_KEYS = (
    "account_name",
    "station",
    "billing_cycle",
    "payment_method",
    "is_key_account",
    "account_manager",
    "credit_rating",
)
CHUNK = 2000


def existing_values(model: Any, field: str, values: Iterable[str]) -> set[str]:
    """Which of ``values`` the unique column ``field`` already holds — one array query on PostgreSQL."""
    wanted = sorted(set(values))
    if not wanted:
        return set()
    if connection.vendor == "postgresql":
        column = model._meta.get_field(field).column
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "{column}" FROM "{model._meta.db_table}" WHERE "{column}" = ANY(%s)', [wanted]
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for part in chunks(wanted):
        found.update(model.objects.filter(**{f"{field}__in": part}).values_list(field, flat=True))
    return found


def customers_with_ids(pairs: Iterable[tuple[str, str]]) -> list[tuple[int, str, str]]:
    """(pk, id_type, id_number) of the customers holding any of the (ID type, ID number) ``pairs``.

    On PostgreSQL one query joins the pairs to the (id_type, id_number) index; elsewhere chunks of numbers.
    """
    wanted = list(set(pairs))
    if not wanted:
        return []
    if connection.vendor == "postgresql":
        table = Customer._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "id", "id_type", "id_number" FROM "{table}" WHERE ("id_type", "id_number") IN '
                "(SELECT * FROM unnest(%s::varchar[], %s::varchar[]))",
                [[t for t, _n in wanted], [n for _t, n in wanted]],
            )
            return [tuple(row) for row in cursor.fetchall()]
    found: list[tuple[int, str, str]] = []
    for part in chunks(sorted({number for _t, number in wanted})):
        found += Customer.objects.filter(id_number__in=part).values_list("pk", "id_type", "id_number")
    return found


def chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def meter_columns() -> list[Column]:
    """The meter columns, shared with the meter stock sheet (gridcare.metering.importing)."""
    from gridcare.metering.models import Meter, Register

    return [
        Column(
            "meter_asset_no",
            "电能表资产编号",
            max_length=32,
            example="3310001000001",
            help="Meter asset number (empty: no meter)",
        ),
        Column("meter_barcode", "条码", max_length=32, example="3310001000001", help="Barcode"),
        Column("meter_manufacturer", "厂家", max_length=80, example="威胜集团", help="Manufacturer"),
        Column("meter_model", "型号", max_length=40, example="DDZY71", help="Model"),
        Column(
            "meter_kind",
            "表计类型",
            "choice",
            choices=Meter.Kind,
            example="电子式",
            help="Electronic / mechanical",
        ),
        Column(
            "meter_accuracy",
            "准确度等级",
            "choice",
            choices=Meter.AccuracyClass,
            example="2",
            help="Accuracy class",
        ),
        Column("meter_phases", "相数", "int", example=1, help="1 or 3"),
        Column("meter_current", "电流规格", max_length=20, example="5(60)A", help="Rated current"),
        Column("meter_digits", "计度器位数", "int", example=6, help="Register digits"),
        Column(
            "meter_registers",
            "计度器",
            "list",
            choices=Register,
            example="有功总,峰,谷",
            help="Registers, comma separated",
        ),
        Column("ct_ratio", "CT变比", "int", example=1, help="CT ratio (e.g. 40 for 200/5)"),
        Column("pt_ratio", "PT变比", "int", example=1, help="PT ratio (e.g. 100 for 10kV/100V)"),
        Column("verified_on", "检定日期", "date", example="2026-01-05", help="Verification date"),
    ]


class CustomerImporter(Importer):
    kind = "customers"
    title = "客户档案导入"
    permission = "customer.manage"

    @property
    def columns(self) -> list[Column]:  # type: ignore[override]
        return _customer_columns()

    # ------------------------------------------------------------------------------------------ checks
    def check(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        with gc_paused():
            self._check(rows)

    def _check(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        from gridcare.metering.actions import clean_reads, validate_meter_fields
        from gridcare.metering.conf import rules
        from gridcare.metering.models import Meter
        from gridcare.metering.rules import rotation_due

        actor = self.actor
        today = timezone.localdate()
        metering_rules = rules()
        # rotation_due is a pure function of three values that repeat across a file (one delivery, one date)
        rotation = functools.cache(
            lambda verified, kind, phases: rotation_due(verified, kind, phases, metering_rules)
        )
        stations = {
            u.code: u
            for u in restrict(
                OrgUnit.objects.filter(kind__in=[OrgUnit.Kind.STATION, OrgUnit.Kind.BRANCH]), actor
            )
        }
        usernames = {v["account_manager"] for _n, v in rows if v.get("account_manager")}
        managers = {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}
        has_meters = any(v.get("meter_asset_no") for _n, v in rows)
        if has_meters and not has_perm(actor, "meter.manage"):
            self.error(
                rows[0][0],
                "meter_asset_no",
                "您的岗位无权装表（需要 meter.manage）。 (Installing meters needs meter.manage.)",
            )
        accounts: dict[str, tuple[int, dict[str, Any]]] = {}
        customers: dict[Any, tuple[int, dict[str, Any]]] = {}
        seen_sp: dict[str, int] = {}
        seen_meter: dict[tuple[str, str], int] = {}
        for number, v in rows:
            # customer
            if v.get("id_type") and v.get("id_number"):
                message = id_number_error(v["id_type"], v["id_number"])
                if message:
                    self.error(number, "id_number", message)
                v["id_number"] = v["id_number"].upper()
            if (
                v.get("customer_kind") == Customer.Kind.ORGANISATION
                and v.get("id_type") == Customer.IdType.RESIDENT_ID
            ):
                self.error(
                    number,
                    "id_type",
                    "单位客户应使用统一社会信用代码等单位证件。 (Organisations use a credit code.)",
                )
            if v.get("mobile") is not None:
                message = mobile_error(v["mobile"])
                if message:
                    self.error(number, "mobile", message)
            customer_key = v.get("customer_number") or (v.get("id_type"), v.get("id_number"))
            v["_customer_key"] = customer_key
            first = customers.setdefault(customer_key, (number, v))
            if first[0] != number:
                for key in ("customer_name", "customer_kind"):
                    if first[1].get(key) != v.get(key):
                        self.error(
                            number,
                            key,
                            f"同一客户与第 {first[0]} 行不一致。 (Differs from row {first[0]} of the same customer.)",
                        )
            # account
            account_number = v.get("account_number")
            if account_number is not None and not account_number.isdigit():
                self.error(number, "account_number", "户号应为数字。 (An account number is made of digits.)")
            station = stations.get(v.get("station") or "")
            if v.get("station") and station is None:
                self.error(
                    number,
                    "station",
                    f"未找到供电所「{v['station']}」或不在您的数据范围内。 (Unknown station or outside your scope.)",
                )
            v["_station"] = station
            manager_name = v.get("account_manager")
            if manager_name:
                manager = managers.get(manager_name)
                if manager is None or not has_perm(manager, "keyaccount.manage"):
                    self.error(
                        number,
                        "account_manager",
                        f"「{manager_name}」不是在岗的大客户经理。 (Not an active key account manager.)",
                    )
                v["_manager"] = manager
            if account_number:
                first_account = accounts.setdefault(account_number, (number, v))
                if first_account[0] != number:
                    other = first_account[1]
                    if other["_customer_key"] != customer_key:
                        self.error(
                            number,
                            "account_number",
                            f"户号与第 {first_account[0]} 行属于不同客户。 (Same account, different customer.)",
                        )
                    for key in ACCOUNT_KEYS:
                        if other.get(key) != v.get(key):
                            self.error(
                                number,
                                key,
                                f"与第 {first_account[0]} 行的同一户号信息不一致。 (Differs from row {first_account[0]}.)",
                            )
            # service point
            sp_data = {
                k: v.get(k)
                for k in (
                    "address",
                    "voltage_level",
                    "customer_class",
                    "sub_class",
                    "pf_standard",
                    "area_class",
                    "tariff_code",
                )
                if v.get(k) is not None
            }
            if station is not None:
                sp_data["org_unit"] = station
            for key, message in validate_service_point_fields(sp_data).items():
                self.error(number, key, message)
            capacity = v.get("capacity_kva")
            if capacity is not None and capacity <= 0:
                self.error(number, "capacity_kva", "合同容量必须大于 0。 (Capacity must be greater than 0.)")
            demand = v.get("contracted_demand_kw")
            if demand is not None:
                if demand <= 0:
                    self.error(
                        number, "contracted_demand_kw", "合同需量必须大于 0。 (Must be greater than 0.)"
                    )
                elif capacity and capacity > 0:
                    message = demand_error(capacity, demand)
                    if message:
                        self.error(number, "contracted_demand_kw", message)
            if v.get("expected_monthly_kwh") is not None and v["expected_monthly_kwh"] < 0:
                self.error(number, "expected_monthly_kwh", "数值不能为负。 (Cannot be negative.)")
            sp_number = v.get("sp_number")
            if sp_number:
                if sp_number in seen_sp:
                    self.error(
                        number,
                        "sp_number",
                        f"与第 {seen_sp[sp_number]} 行重复。 (Duplicate of row {seen_sp[sp_number]}.)",
                    )
                seen_sp.setdefault(sp_number, number)
            # meter
            if v.get("meter_asset_no"):
                for key in (
                    "meter_barcode",
                    "meter_manufacturer",
                    "meter_model",
                    "meter_accuracy",
                    "meter_phases",
                    "meter_current",
                    "verified_on",
                    "installed_on",
                ):
                    if v.get(key) in (None, ""):
                        self.error(
                            number, key, "填写了电能表资产编号时必填。 (Required when a meter is given.)"
                        )
                for key in ("meter_asset_no", "meter_barcode"):
                    value = v.get(key)
                    if value:
                        if (key, value) in seen_meter:
                            self.error(
                                number,
                                key,
                                f"与第 {seen_meter[(key, value)]} 行重复。 (Duplicate of row {seen_meter[(key, value)]}.)",
                            )
                        seen_meter.setdefault((key, value), number)
                meter_data: dict[str, Any] = {
                    "kind": v.get("meter_kind") or Meter.Kind.ELECTRONIC,
                    "phases": v.get("meter_phases"),
                    "register_digits": v.get("meter_digits") or 6,
                    "registers": v.get("meter_registers") or ["active_total"],
                    "ct_ratio": v.get("ct_ratio") or 1,
                    "pt_ratio": v.get("pt_ratio") or 1,
                    "verified_on": v.get("verified_on"),
                }
                if v.get("meter_accuracy"):
                    meter_data["accuracy_class"] = v["meter_accuracy"]
                names = {
                    "kind": "meter_kind",
                    "phases": "meter_phases",
                    "register_digits": "meter_digits",
                    "registers": "meter_registers",
                }
                for key, message in validate_meter_fields(meter_data, today=today).items():
                    self.error(number, names.get(key, key), message)
                v["_meter"] = meter_data
                meter = SimpleNamespace(
                    registers=meter_data["registers"], register_digits=meter_data["register_digits"]
                )
                reads = {register: v.get(key) for key, _h, register in READ_COLUMNS if v.get(key) is not None}
                try:
                    v["_reads"] = clean_reads(meter, reads, "reads")
                except InvalidInput as exc:
                    for key, messages in exc.errors.items():
                        register = key.split(".", 1)[1]
                        column = next((k for k, _h, r in READ_COLUMNS if r == register), "read_active_total")
                        self.error(number, column, " ".join(messages))
                installed, verified = v.get("installed_on"), v.get("verified_on")
                if installed and verified:
                    if installed < verified:
                        self.error(
                            number,
                            "installed_on",
                            "装表日期早于检定日期。 (Installed before it was verified.)",
                        )
                    expires = rotation(verified, meter_data["kind"], meter_data["phases"] or 3)
                    if expires and installed >= expires:
                        self.error(
                            number,
                            "verified_on",
                            f"检定有效期已于 {expires:%Y-%m-%d} 届满。 (The verification has expired.)",
                        )
                if installed and installed > today:
                    self.error(number, "installed_on", "装表日期不能晚于今天。 (Cannot be in the future.)")
        self._database_checks(rows, customers)
        self.rows = rows
        self.customers = customers
        self.accounts = accounts

    def _database_checks(
        self, rows: list[tuple[int, dict[str, Any]]], customers: dict[Any, tuple[int, dict[str, Any]]]
    ) -> None:
        """Existing 户号, service point and meter numbers are refused; existing customers are reused."""
        from gridcare.metering.models import Meter

        def existing(model: Any, field: str, values: Iterable[str]) -> set[str]:
            return existing_values(model, field, values)

        taken_accounts = existing(
            Account, "number", (v["account_number"] for _n, v in rows if v.get("account_number"))
        )
        taken_points = existing(
            ServicePoint, "number", (v["sp_number"] for _n, v in rows if v.get("sp_number"))
        )
        taken_assets = existing(
            Meter, "asset_no", (v["meter_asset_no"] for _n, v in rows if v.get("meter_asset_no"))
        )
        taken_barcodes = existing(
            Meter, "barcode", (v["meter_barcode"] for _n, v in rows if v.get("meter_barcode"))
        )
        for number, v in rows:
            if v.get("account_number") in taken_accounts:
                self.error(
                    number,
                    "account_number",
                    f"户号「{v['account_number']}」已存在。 (Account number already exists.)",
                )
            if v.get("sp_number") in taken_points:
                self.error(number, "sp_number", f"用电地址编号「{v['sp_number']}」已存在。 (Already exists.)")
            if v.get("meter_asset_no") in taken_assets:
                self.error(
                    number, "meter_asset_no", f"资产编号「{v['meter_asset_no']}」已存在。 (Already exists.)"
                )
            if v.get("meter_barcode") in taken_barcodes:
                self.error(number, "meter_barcode", f"条码「{v['meter_barcode']}」已存在。 (Already exists.)")
        # existing customers: by customer number (must be in scope) or by ID number
        by_number = [k for k in customers if isinstance(k, str)]
        by_id = [k for k in customers if isinstance(k, tuple)]
        self.existing_customers: dict[Any, int] = {}
        visible = restrict(Customer.objects.all(), self.actor, write=True)  # new accounts join them
        for part in chunks(by_number):
            for pk, found in visible.filter(number__in=part).values_list("pk", "number"):
                self.existing_customers[found] = pk
        for customer_number in by_number:
            if (
                customer_number not in self.existing_customers
                and Customer.objects.filter(number=customer_number).exists()
            ):
                row = customers[customer_number][0]
                self.error(
                    row,
                    "customer_number",
                    f"客户编号「{customer_number}」不在您的数据范围内。 (Outside your data scope.)",
                )
        for pk, id_type, id_number in customers_with_ids([k for k in by_id if k[0] and k[1]]):
            if (id_type, id_number) in customers:
                self.existing_customers[(id_type, id_number)] = pk

    # ------------------------------------------------------------------------------------------ write
    def write(self) -> dict[str, int]:
        with gc_paused():
            return self._write()

    def _write(self) -> dict[str, int]:
        """Rows are generated while COPY streams them, so building the next rows overlaps the database's work."""
        from gridcare.metering.conf import rules
        from gridcare.metering.models import Installation, InstallationRead, Meter
        from gridcare.metering.rules import metering_class, next_test_due, rotation_due

        writer = BulkWriter()
        now = timezone.now()
        today = timezone.localdate()
        metering_rules = rules()
        # pure functions of values that repeat across a file: computed once per distinct argument
        rotation = functools.cache(
            lambda verified, kind, phases: rotation_due(verified, kind, phases, metering_rules)
        )
        first_test = functools.cache(
            lambda installed, klass: next_test_due(installed, None, klass, metering_rules)
        )

        # ids first, then every table's rows (references by id: the foreign keys are checked at commit)
        new_customer_keys = [k for k in self.customers if k not in self.existing_customers]
        customer_ids = dict(
            zip(new_customer_keys, writer.reserve_ids(Customer, len(new_customer_keys)), strict=True)
        )
        customer_ids.update(self.existing_customers)
        contact_ids = writer.reserve_ids(Contact, len(new_customer_keys))
        # customer numbers from the sequence, as registrations get theirs (never the same one at the same time)
        from gridcare.customers.actions import CUSTOMER_NUMBERS

        unnumbered = sum(1 for k in new_customer_keys if not self.customers[k][1].get("customer_number"))
        drawn = iter(reserve_numbers(CUSTOMER_NUMBERS, Customer, "KH", 10, unnumbered))
        account_numbers = list(self.accounts)
        account_ids = dict(
            zip(account_numbers, writer.reserve_ids(Account, len(account_numbers)), strict=True)
        )
        point_ids = writer.reserve_ids(ServicePoint, len(self.rows))
        sequence: dict[str, int] = {}
        points: list[tuple[int, dict[str, Any], str, str, Any]] = []  # (id, row, number, class, valid from)
        meters: list[tuple[int, dict[str, Any], str]] = []  # (service point id, row, class)
        audit_points: dict[str, list[str]] = {}
        for (_row, v), point_id in zip(self.rows, point_ids, strict=True):
            account = v["account_number"]
            sequence[account] = sequence.get(account, 0) + 1
            number = v.get("sp_number") or f"{account}{sequence[account]:02d}"
            audit_points.setdefault(account, []).append(number)
            phases = 1 if v["voltage_level"] == ServicePoint.VoltageLevel.V220 else 3
            energy = v.get("expected_monthly_kwh") or Decimal("0")
            klass = metering_class(energy, v["capacity_kva"], phases, metering_rules)
            points.append((point_id, v, number, klass, v.get("valid_from") or today))
            if v.get("meter_asset_no"):
                meters.append((point_id, v, klass))
        meter_ids = writer.reserve_ids(Meter, len(meters))
        installation_ids = writer.reserve_ids(Installation, len(meters))

        def customer_rows() -> Iterator[tuple[Any, ...]]:
            for key in new_customer_keys:
                v = self.customers[key][1]
                yield (
                    customer_ids[key],
                    v.get("customer_number") or next(drawn),
                    v["customer_kind"],
                    v["customer_name"],
                    v["id_type"],
                    v["id_number"],
                    v["_station"].pk,
                    v.get("customer_address") or "",
                    now,
                )

        def contact_rows() -> Iterator[tuple[Any, ...]]:
            for contact_id, key in zip(contact_ids, new_customer_keys, strict=True):
                v = self.customers[key][1]
                yield (contact_id, customer_ids[key], v["contact_name"], v["mobile"], "", True)

        def account_rows() -> Iterator[tuple[Any, ...]]:
            for number in account_numbers:
                v = self.accounts[number][1]
                manager = v.get("_manager")
                yield (
                    account_ids[number],
                    number,
                    customer_ids[v["_customer_key"]],
                    v.get("account_name") or v["customer_name"],
                    v["_station"].pk,
                    v.get("billing_cycle") or Account.BillingCycle.MONTHLY,
                    v.get("payment_method") or Account.PaymentMethod.COUNTER,
                    bool(v.get("is_key_account")),
                    manager.pk if manager else None,
                    v.get("credit_rating") or Account.CreditRating.A,
                    Account.Status.ACTIVE,
                    today,
                )

        def point_rows() -> Iterator[tuple[Any, ...]]:
            for point_id, v, number, klass, _start in points:
                yield (
                    point_id,
                    number,
                    account_ids[v["account_number"]],
                    v["address"],
                    v["_station"].pk,
                    v["voltage_level"],
                    v["customer_class"],
                    v.get("sub_class") or "",
                    v.get("pf_standard") or ServicePoint.PowerFactorStandard.NONE,
                    v.get("area_class") or ServicePoint.AreaClass.URBAN,
                    bool(v.get("is_important")),
                    v["tariff_code"],
                    v["capacity_kva"],
                    v.get("contracted_demand_kw"),
                    v.get("expected_monthly_kwh") or Decimal("0"),
                    klass,
                )

        def meter_rows() -> Iterator[tuple[Any, ...]]:
            for (point_id, v, klass), meter_id in zip(meters, meter_ids, strict=True):
                m = v["_meter"]
                yield (
                    meter_id,
                    v["meter_asset_no"],
                    v["meter_barcode"],
                    v["meter_manufacturer"],
                    v["meter_model"],
                    m["kind"],
                    v["meter_accuracy"],
                    m["phases"],
                    v["meter_current"],
                    m["register_digits"],
                    m["registers"],
                    m["ct_ratio"],
                    m["pt_ratio"],
                    Meter.Status.INSTALLED,
                    m["verified_on"],
                    v["installed_on"],
                    v["_station"].pk,
                    point_id,
                    None,
                    first_test(v["installed_on"], klass),
                    rotation(m["verified_on"], m["kind"], m["phases"]),
                    None,
                    now,
                )

        actor_id = self.actor.pk if getattr(self.actor, "pk", None) else None

        def installation_rows() -> Iterator[tuple[Any, ...]]:
            for (point_id, v, _klass), meter_id, installation_id in zip(
                meters, meter_ids, installation_ids, strict=True
            ):
                m = v["_meter"]
                yield (
                    installation_id,
                    meter_id,
                    point_id,
                    v["installed_on"],
                    None,
                    Installation.Reason.NEW,
                    "",
                    m["ct_ratio"],
                    m["pt_ratio"],
                    actor_id,
                    None,
                )

        def read_rows() -> Iterator[tuple[Any, ...]]:
            for (_point_id, v, _klass), installation_id in zip(meters, installation_ids, strict=True):
                for register, value in v["_reads"].items():
                    yield (installation_id, InstallationRead.Event.INSTALL, register, value)

        writer.insert(
            Customer,
            CUSTOMER_COLUMNS,
            customer_rows(),
        )
        writer.insert(Contact, CONTACT_COLUMNS, contact_rows())
        writer.insert(
            Account,
            ACCOUNT_COLUMNS,
            account_rows(),
        )
        insert_service_points(
            writer,
            point_rows(),
            tariffs=((p, start, None, now, v["tariff_code"]) for p, v, _n, _k, start in points),
            capacities=((p, start, None, now, v["capacity_kva"]) for p, v, _n, _k, start in points),
            demands=(
                (p, start, None, now, v["contracted_demand_kw"])
                for p, v, _n, _k, start in points
                if v.get("contracted_demand_kw") is not None
            ),
            classes=(
                (p, start, None, now, v["customer_class"], v.get("sub_class") or "")
                for p, v, _n, _k, start in points
            ),
        )
        writer.insert(Meter, METER_COLUMNS, meter_rows())
        writer.insert(
            Installation,
            [
                "id",
                "meter_id",
                "service_point_id",
                "installed_on",
                "removed_on",
                "reason",
                "removal_reason",
                "ct_ratio",
                "pt_ratio",
                "installed_by_id",
                "removed_by_id",
            ],
            installation_rows(),
        )
        writer.insert(InstallationRead, ["installation_id", "event", "register", "value"], read_rows())

        # One audit row per imported account, naming its customer, service points and installed meters.
        meters_of: dict[str, list[dict[str, Any]]] = {}
        for (_point_id, v, _klass), meter_id in zip(meters, meter_ids, strict=True):
            meters_of.setdefault(v["account_number"], []).append(
                {
                    "meter_id": meter_id,
                    "asset_no": v["meter_asset_no"],
                    "installed_on": v["installed_on"],
                    "initial_reads": v["_reads"],
                }
            )
        audit.bulk_record(
            self.actor,
            "customers.import_account",
            (
                {
                    "object_type": "customers.account",
                    "object_id": account_ids[number],
                    "object_repr": number,
                    "after": {
                        "customer_id": customer_ids[self.accounts[number][1]["_customer_key"]],
                        "service_points": audit_points[number],
                        "meters": meters_of.get(number, []),
                    },
                }
                for number in account_numbers
            ),
        )
        return {
            "customers": len(new_customer_keys),
            "accounts": len(account_numbers),
            "service_points": len(points),
            "meters": len(meters),
        }


METER_COLUMNS = [
    "id",
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
    "last_tested_on",
    "next_test_due",
    "rotation_due",
    "replace_due",
    "created_at",
]


def _sequence_start(model: Any, prefix: str, width: int) -> int:
    """The first free sequence number of generated numbers ``prefix`` + ``width`` digits."""
    from gridcare.customers.actions import _next_number

    return int(_next_number(model, prefix, width)[len(prefix) :])


def _customer_columns() -> list[Column]:
    return [
        Column(
            "customer_number",
            "客户编号",
            max_length=20,
            example="",
            help="Customer number (empty: new, generated; or an existing customer's)",
        ),
        Column(
            "customer_name", "客户名称", required=True, max_length=120, example="张伟", help="Customer name"
        ),
        Column(
            "customer_kind",
            "客户类型",
            "choice",
            required=True,
            choices=Customer.Kind,
            example="个人",
            help="Individual / organisation",
        ),
        Column(
            "id_type",
            "证件类型",
            "choice",
            required=True,
            choices=Customer.IdType,
            example="居民身份证",
            help="ID type",
        ),
        Column(
            "id_number",
            "证件号码",
            required=True,
            max_length=32,
            example="11010519491231002X",
            help="ID number (checksum verified)",
        ),
        Column("customer_address", "通信地址", max_length=200, example="", help="Correspondence address"),
        Column("contact_name", "联系人", required=True, max_length=60, example="张伟", help="Contact name"),
        Column(
            "mobile",
            "手机号码",
            required=True,
            max_length=20,
            example="13812345678",
            help="Mainland mobile number",
        ),
        Column(
            "account_number",
            "户号",
            required=True,
            max_length=20,
            example="5100000001",
            help="Account number (unique, digits)",
        ),
        Column(
            "account_name", "户名", max_length=120, example="", help="Account name (empty: the customer name)"
        ),
        Column(
            "station", "供电所编码", required=True, max_length=32, example="CG", help="Service station code"
        ),
        Column(
            "billing_cycle",
            "抄表周期",
            "choice",
            choices=Account.BillingCycle,
            example="每月",
            help="Billing cycle",
        ),
        Column(
            "payment_method",
            "缴费方式",
            "choice",
            choices=Account.PaymentMethod,
            example="坐收",
            help="Payment method",
        ),
        Column("is_key_account", "大客户", "bool", example="否", help="Key account"),
        Column(
            "account_manager",
            "客户经理登录名",
            max_length=150,
            example="",
            help="Key account manager's username",
        ),
        Column(
            "credit_rating",
            "信用等级",
            "choice",
            choices=Account.CreditRating,
            example="A",
            help="Credit rating",
        ),
        Column(
            "sp_number",
            "用电地址编号",
            max_length=24,
            example="",
            help="Service point number (empty: 户号 + 2 digits)",
        ),
        Column(
            "address",
            "用电地址",
            required=True,
            max_length=200,
            example="城关镇幸福路12号",
            help="Supply address",
        ),
        Column(
            "voltage_level",
            "电压等级",
            "choice",
            required=True,
            choices=ServicePoint.VoltageLevel,
            example="220V",
            help="Voltage level",
        ),
        Column(
            "customer_class",
            "用电类别",
            "choice",
            required=True,
            choices=ServicePoint.CustomerClass,
            example="居民生活",
            help="Customer class",
        ),
        Column("sub_class", "用电子类", max_length=40, example="城镇居民", help="Sub-class"),
        Column(
            "pf_standard",
            "功率因数标准",
            "choice",
            choices=ServicePoint.PowerFactorStandard,
            example="不考核",
            help="Power factor standard",
        ),
        Column(
            "area_class",
            "地区类别",
            "choice",
            choices=ServicePoint.AreaClass,
            example="城市",
            help="Urban / rural / remote",
        ),
        Column("is_important", "重要用户", "bool", example="否", help="Important customer"),
        Column(
            "capacity_kva",
            "合同容量(kVA)",
            "decimal",
            required=True,
            example=8,
            help="Contracted capacity, > 0",
        ),
        Column(
            "contracted_demand_kw",
            "合同需量(kW)",
            "decimal",
            example="",
            help="Contracted demand (two-part customers)",
        ),
        Column(
            "tariff_code", "电价代码", required=True, max_length=40, example="RES-TIER", help="Tariff code"
        ),
        Column(
            "expected_monthly_kwh", "月均电量(kWh)", "decimal", example=200, help="Expected monthly energy"
        ),
        Column("valid_from", "生效日期", "date", example="2026-01-01", help="Valid from (empty: today)"),
        *meter_columns(),
        Column("installed_on", "装表日期", "date", example="2026-01-10", help="Installation date"),
        *[
            Column(
                key,
                header,
                "decimal",
                example=0 if register == "active_total" else "",
                help=f"Initial read {register}",
            )
            for key, header, register in READ_COLUMNS
        ],
    ]
