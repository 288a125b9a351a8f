"""The company's own org tree and staff from Excel (``gridcare import_org FILE.xlsx``).

The workbook has two sheets, in this order (``gridcare import_org --template FILE.xlsx`` writes an empty one):

- 组织机构 (units): 机构编码, 机构名称, 机构类型, 上级机构编码 — a parent is a unit already in gridcare or another
  row of the sheet (in any order); the top unit (the company) has no parent.
- 人员 (staff): 登录名, 姓名, 岗位编码, 所属机构编码, 工号, 手机, 邮箱, 初始密码 — the position by its catalogue
  code or name (``gridcare load_defaults`` loads the catalogue first).

Like the customer import (reusing its machinery, :mod:`gridcare.customers.importing`) it is all or nothing: every
row is checked first and every problem listed (sheet · column, row, reason) in an error sheet; only a file without
errors is written, in one transaction, through the org actions (``do_create_unit``, ``do_create_staff``) as the
given actor — by default the system account — so every unit and person has its audit row. A unit whose code is
already in gridcare with the same parent is kept (so the file may be loaded again after fixing the staff sheet);
a login name already taken is an error.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from gridcare.core.access import require_perm
from gridcare.core.errors import GridcareError
from gridcare.customers.importing import (
    Column,
    Importer,
    ImportResult,
    RowError,
    _is_empty,
    read_rows,
    save_error_sheet,
    sheet_lines,
    template_workbook,
)
from gridcare.org import actions
from gridcare.org.models import OrgUnit, Position, User

Rows = list[tuple[int, dict[str, Any]]]


class UnitSheet(Importer):
    kind = "org_units"
    title = "组织机构"
    permission = "org.manage_units"
    columns = (
        Column(
            "code", "机构编码", required=True, max_length=32, example="GC", help="Unit code (letters, digits)"
        ),
        Column("name", "机构名称", required=True, max_length=100, example="某某供电公司", help="Unit name"),
        Column("kind", "机构类型", "choice", True, OrgUnit.Kind, example="公司", help="Unit kind"),
        Column(
            "parent",
            "上级机构编码",
            max_length=32,
            example="",
            help="Parent unit code; empty for the company",
        ),
    )

    def check(self, rows: Rows) -> None:
        existing = {u.code: u for u in OrgUnit.objects.select_related("parent")}
        seen: dict[str, int] = {}
        for number, v in rows:
            code = v.get("code") or ""
            if code in seen:
                self.error(number, "code", f"与第 {seen[code]} 行重复。 (Duplicate of row {seen[code]}.)")
            seen.setdefault(code, number)
        planned = {v["code"]: v for _n, v in rows if v.get("code")}
        self.to_create: Rows = []
        for number, v in rows:
            code, parent = v.get("code") or "", v.get("parent") or ""
            if parent and parent not in planned and parent not in existing:
                self.error(number, "parent", f"上级机构「{parent}」不存在。 (Unknown parent unit.)")
            if not parent and v.get("kind") != OrgUnit.Kind.COMPANY:
                self.error(
                    number, "parent", "只有公司可以没有上级机构。 (Only a company may have no parent.)"
                )
            if code in existing:
                parent_unit = existing[code].parent
                current = parent_unit.code if parent_unit is not None else ""
                if current != parent:
                    self.error(
                        number,
                        "code",
                        f"机构编码「{code}」已存在，上级为「{current or '—'}」。 (Unit exists under another parent.)",
                    )
                continue  # kept as it is
            self.to_create.append((number, v))
        self._order(planned, existing)

    def _order(self, planned: dict[str, dict[str, Any]], existing: dict[str, OrgUnit]) -> None:
        """Parents before children; a cycle among the rows is an error on each of its rows."""
        ordered: Rows = []
        placed = set(existing)
        pending = list(self.to_create)
        while pending:
            ready = [(n, v) for n, v in pending if not v.get("parent") or v["parent"] in placed]
            if not ready:
                for number, _v in pending:
                    self.error(number, "parent", "上级机构形成循环。 (The parents form a cycle.)")
                break
            ordered += ready
            placed |= {v["code"] for _n, v in ready}
            pending = [(n, v) for n, v in pending if (n, v) not in ready]
        self.to_create = ordered

    def write(self) -> dict[str, int]:
        units = {u.code: u for u in OrgUnit.objects.all()}
        for _number, v in self.to_create:
            parent = units.get(v.get("parent") or "")
            units[v["code"]] = actions.do_create_unit(
                self.actor, code=v["code"], name=v["name"], kind=v["kind"], parent=parent
            )
        return {"units": len(self.to_create)}


class StaffSheet(Importer):
    kind = "staff"
    title = "人员"
    permission = "org.manage_staff"
    columns = (
        Column("username", "登录名", required=True, max_length=150, example="zhangsan", help="Login name"),
        Column("full_name", "姓名", required=True, max_length=100, example="张三", help="Full name"),
        Column("position", "岗位", required=True, example="service_rep", help="Position code or name"),
        Column("unit", "所属机构编码", required=True, max_length=32, example="GC", help="Unit code"),
        Column("employee_no", "工号", max_length=32, example="", help="Employee number"),
        Column("phone", "手机", max_length=11, example="", help="Mobile number (11 digits)"),
        Column("email", "邮箱", max_length=254, example="", help="E-mail"),
        Column(
            "password", "初始密码", required=True, example="", help="Initial password (change at first login)"
        ),
    )

    def check(self, rows: Rows, *, unit_codes: set[str] | None = None) -> None:
        units = set(OrgUnit.objects.values_list("code", flat=True)) | (unit_codes or set())
        positions: dict[str, Position] = {}
        for position in Position.objects.all():
            positions[position.code] = positions[position.name] = position
        taken = set(User.objects.values_list("username", flat=True))
        seen: dict[str, int] = {}
        for number, v in rows:
            username = v.get("username") or ""
            if username in seen:
                self.error(
                    number, "username", f"与第 {seen[username]} 行重复。 (Duplicate of row {seen[username]}.)"
                )
            seen.setdefault(username, number)
            if username in taken:
                self.error(number, "username", f"登录名「{username}」已被使用。 (Username already taken.)")
            if v.get("unit") and v["unit"] not in units:
                self.error(number, "unit", f"机构「{v['unit']}」不存在。 (Unknown unit.)")
            v["_position"] = positions.get(str(v.get("position") or ""))
            if v.get("position") and v["_position"] is None:
                self.error(
                    number,
                    "position",
                    f"岗位「{v['position']}」不存在，请先运行 gridcare load_defaults。 (Unknown position.)",
                )
            phone = v.get("phone") or ""
            if phone and not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
                self.error(number, "phone", "手机号应为以 1 开头的 11 位数字。 (11 digits starting with 1.)")
            if v.get("password"):
                try:
                    validate_password(
                        v["password"], user=User(username=username, full_name=v.get("full_name") or "")
                    )
                except ValidationError as exc:
                    self.error(number, "password", " ".join(exc.messages))
        self.rows = rows

    def write(self) -> dict[str, int]:
        units = {u.code: u for u in OrgUnit.objects.all()}
        for _number, v in self.rows:
            actions.do_create_staff(
                self.actor,
                username=v["username"],
                password=v["password"],
                full_name=v["full_name"],
                position=v["_position"],
                org_unit=units[v["unit"]],
                employee_no=v.get("employee_no") or None,
                phone=v.get("phone") or "",
                email=v.get("email") or "",
            )
        return {"staff": len(self.rows)}


def org_template() -> bytes:
    """The two-sheet template (units, staff) with a sheet explaining every column."""
    return template_workbook(UnitSheet(None), StaffSheet(None))


def _in_sheet(importer: Importer, errors: list[RowError]) -> list[RowError]:
    return [RowError(e.row, f"{importer.title} · {e.column}", e.reason) for e in errors]


def run_org_import(actor: Any, data: bytes) -> ImportResult:
    """Check both sheets; write them only if neither has an error (else the errors and their sheet's token)."""
    units, staff = UnitSheet(actor), StaffSheet(actor)
    require_perm(actor, units.permission)
    require_perm(actor, staff.permission)
    unit_rows = read_rows(units, data, sheet=0)
    if unit_rows:
        units.check(unit_rows)
    staff_rows = _staff_rows(staff, data)
    if staff_rows:
        staff.check(staff_rows, unit_codes={v["code"] for _n, v in unit_rows if v.get("code")})
    errors = _in_sheet(units, units.errors) + _in_sheet(staff, staff.errors)
    if not errors:
        try:
            with transaction.atomic():
                created = units.write() if unit_rows else {"units": 0}
                created.update(staff.write() if staff_rows else {"staff": 0})
            return ImportResult(created=created)
        except GridcareError as exc:  # a rule the checks above did not foresee: nothing is kept
            errors = [RowError(0, "—", exc.message)]
    errors.sort(key=lambda e: (e.column.split(" · ")[0] != units.title, e.row))
    return ImportResult(errors=errors, error_token=save_error_sheet(actor, errors))


def _staff_rows(staff: StaffSheet, data: bytes) -> Rows:
    """The staff sheet's rows; a workbook with the units sheet only (or an empty staff sheet) imports no staff."""
    try:
        lines = sheet_lines(data, 1)
    except Exception:  # no second sheet (an unreadable file is reported on the units sheet)
        return []
    if all(_is_empty(line) for line in lines):
        return []
    return read_rows(staff, data, sheet=1)
