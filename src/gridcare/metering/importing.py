"""The meter stock sheet (电能表资产批量入库): one row per meter, all rows valid or nothing imported."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import restrict
from gridcare.customers.bulk import BulkWriter
from gridcare.customers.importers import METER_COLUMNS, existing_values, meter_columns
from gridcare.customers.importing import Column, Importer
from gridcare.metering.actions import validate_meter_fields
from gridcare.metering.conf import rules
from gridcare.metering.models import Meter
from gridcare.metering.rules import rotation_due
from gridcare.org.models import OrgUnit

REQUIRED = {
    "meter_asset_no",
    "meter_barcode",
    "meter_manufacturer",
    "meter_model",
    "meter_accuracy",
    "meter_phases",
    "meter_current",
}


class MeterImporter(Importer):
    kind = "meters"
    title = "电能表资产入库"
    permission = "meter.manage"

    @property
    def columns(self) -> list[Column]:  # type: ignore[override]
        columns = [
            Column(c.key, c.header, c.kind, c.key in REQUIRED, c.choices, c.example, c.help, c.max_length)
            for c in meter_columns()
        ]
        return [
            *columns,
            Column(
                "unit", "库房单位编码", required=True, max_length=32, example="JL", help="Holding unit code"
            ),
        ]

    def check(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        units = {u.code: u for u in restrict(OrgUnit.objects.all(), self.actor)}
        seen: dict[tuple[str, Any], int] = {}
        today = timezone.localdate()
        for number, v in rows:
            data = {
                "kind": v.get("meter_kind") or Meter.Kind.ELECTRONIC,
                "accuracy_class": v.get("meter_accuracy"),
                "phases": v.get("meter_phases"),
                "register_digits": v.get("meter_digits") or 6,
                "registers": v.get("meter_registers") or ["active_total"],
                "ct_ratio": v.get("ct_ratio") or 1,
                "pt_ratio": v.get("pt_ratio") or 1,
                "verified_on": v.get("verified_on"),
            }
            names = {
                "kind": "meter_kind",
                "accuracy_class": "meter_accuracy",
                "phases": "meter_phases",
                "register_digits": "meter_digits",
                "registers": "meter_registers",
            }
            for key, message in validate_meter_fields(data, today=today).items():
                self.error(number, names.get(key, key), message)
            v["_meter"] = data
            v["_unit"] = units.get(v.get("unit") or "")
            if v["_unit"] is None:
                self.error(
                    number,
                    "unit",
                    f"未找到单位「{v.get('unit')}」或不在您的数据范围内。 (Unknown unit or outside your scope.)",
                )
            for key in ("meter_asset_no", "meter_barcode"):
                value = v.get(key)
                if (key, value) in seen:
                    self.error(
                        number,
                        key,
                        f"与第 {seen[(key, value)]} 行重复。 (Duplicate of row {seen[(key, value)]}.)",
                    )
                seen.setdefault((key, value), number)
        for key, field in (("meter_asset_no", "asset_no"), ("meter_barcode", "barcode")):
            taken = existing_values(Meter, field, (v[key] for _n, v in rows if v.get(key)))
            for number, v in rows:
                if v.get(key) in taken:
                    self.error(number, key, f"「{v[key]}」已存在。 (Already exists.)")
        self.rows = rows

    def write(self) -> dict[str, int]:
        writer = BulkWriter()
        now = timezone.now()
        ids = writer.reserve_ids(Meter, len(self.rows))
        metering_rules = rules()
        meter_rows = []
        for (_n, v), meter_id in zip(self.rows, ids, strict=True):
            m = v["_meter"]
            meter_rows.append(
                (
                    meter_id,
                    v["meter_asset_no"],
                    v["meter_barcode"],
                    v["meter_manufacturer"],
                    v["meter_model"],
                    m["kind"],
                    m["accuracy_class"],
                    m["phases"],
                    v["meter_current"],
                    m["register_digits"],
                    m["registers"],
                    m["ct_ratio"],
                    m["pt_ratio"],
                    Meter.Status.IN_STOCK,
                    m["verified_on"],
                    None,
                    v["_unit"].pk,
                    None,
                    None,
                    None,
                    rotation_due(m["verified_on"], m["kind"], m["phases"], metering_rules),
                    None,
                    now,
                )
            )
        writer.insert(Meter, METER_COLUMNS, meter_rows)
        audit.bulk_record(
            self.actor,
            "metering.import_meter",
            (
                {
                    "object_type": "metering.meter",
                    "object_id": meter_id,
                    "object_repr": v["meter_asset_no"],
                    "after": {"status": Meter.Status.IN_STOCK, "unit": v["_unit"].code},
                }
                for (_n, v), meter_id in zip(self.rows, ids, strict=True)
            ),
        )
        return {"meters": len(meter_rows)}
