"""Demo meters: one installed at every demo service point without a meter (single-phase for 220 V, three-phase
otherwise, CT/PT for 10 kV), with initial reads, plus a stock of new meters at the metering centre (计量中心).

Installation and verification dates are spread so that the verification plan and the overdue list have work.
Bulk path as in :mod:`gridcare.customers.demo`: one audited transaction per chunk.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import nullcontext

from django.utils import timezone

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.customers.bulk import BulkWriter, deferred_search_indexes
from gridcare.customers.importers import METER_COLUMNS
from gridcare.customers.models import ServicePoint
from gridcare.metering.conf import rules
from gridcare.metering.models import Installation, InstallationRead, Meter
from gridcare.metering.rules import MeteringRules, next_test_due, rotation_due
from gridcare.org.models import OrgUnit, User

CHUNK = 10_000
STOCK = {"small": 200, "medium": 2_000, "large": 20_000}
MAKERS = [
    ("威胜集团", "DDZY71"),
    ("林洋能源", "DDZY1329"),
    ("华立科技", "DTZY285"),
    ("炬华科技", "DTSD341"),
    ("许继电气", "DSZY331"),
]
TOU = ["active_total", "active_sharp", "active_peak", "active_flat", "active_valley"]


def _meter_row(
    rng: random.Random,
    meter_id: int,
    serial: int,
    phases: int,
    voltage: str,
    unit_id: int,
    point_id: int | None,
    klass: str,
    today: dt.date,
    now: dt.datetime,
    rules: MeteringRules,
) -> tuple[tuple, dt.date | None, list[str], int, int]:
    maker, model = rng.choice(MAKERS)
    # three-phase meters (commercial, agricultural, large industry) also count reactive energy: the power factor
    # adjustment of their tariffs needs it
    registers = ["active_total"] if phases == 1 else [*TOU, "reactive_total"]
    ct, pt = (
        (1, 1)
        if voltage == "220V"
        else ((rng.choice((20, 40, 60)), 1) if voltage == "380V" else (rng.choice((20, 40, 80)), 100))
    )
    verified = today - dt.timedelta(days=rng.randint(20, 2900))
    installed = None
    if point_id is not None:
        installed = min(today, verified + dt.timedelta(days=rng.randint(5, 60)))
    rotation = rotation_due(verified, "electronic", phases, rules)
    due = next_test_due(installed, None, klass, rules) if installed else None
    last_tested = None
    if installed and rng.random() < 0.97:
        # most meters had their first test after installation (and class I–III their periodic ones);
        # the rest are overdue, so the plan and overdue screens have work
        last_tested = min(today, installed + dt.timedelta(days=rng.randint(3, 25)))
        if klass in ("I", "II", "III"):
            last_tested = max(last_tested, today - dt.timedelta(days=rng.randint(10, 400)))
        due = next_test_due(installed, last_tested, klass, rules)
    asset = f"3310{serial:09d}"
    row = (
        meter_id,
        asset,
        asset,
        maker,
        model,
        "electronic",
        "2" if phases == 1 else "0.5S",
        phases,
        "5(60)A" if phases == 1 else "1.5(6)A",
        6 if phases == 1 else 8,
        registers,
        ct,
        pt,
        "installed" if point_id else "in_stock",
        verified,
        installed,
        unit_id,
        point_id,
        last_tested,
        due,
        rotation,
        None,
        now,
    )
    return row, installed, registers, ct, pt


@action("metering.demo_chunk", permission=None)
def do_load_demo_meters(
    actor: User, *, points: list[tuple[int, str, str, int]], serial: int, seed: int
) -> int:
    rng = random.Random(seed)
    writer = BulkWriter()
    writer.trust_generated_references()
    metering_rules = rules()
    today, now = timezone.localdate(), timezone.now()
    meter_ids = writer.reserve_ids(Meter, len(points))
    installation_ids = writer.reserve_ids(Installation, len(points))
    meters, installations, reads = [], [], []
    for index, (point_id, voltage, klass, unit_id) in enumerate(points):
        phases = 1 if voltage == "220V" else 3
        row, installed, registers, ct, pt = _meter_row(
            rng,
            meter_ids[index],
            serial + index,
            phases,
            voltage,
            unit_id,
            point_id,
            klass,
            today,
            now,
            metering_rules,
        )
        meters.append(row)
        installations.append(
            (
                installation_ids[index],
                meter_ids[index],
                point_id,
                installed,
                None,
                "new",
                "",
                ct,
                pt,
                None,
                None,
            )
        )
        total = rng.randint(0, 40_000)
        for register in registers:
            value = (
                total
                if register == "active_total"
                else (total // 4 if register.startswith("active") else total // 3)
            )
            reads.append((installation_ids[index], "install", register, value))
    writer.insert(Meter, METER_COLUMNS, meters)
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
        installations,
    )
    writer.insert(InstallationRead, ["installation_id", "event", "register", "value"], reads)
    audit.record(
        actor,
        "metering.demo_chunk",
        object_type="metering.meter",
        object_id=f"{meter_ids[0]}-{meter_ids[-1]}",
        after={"meters_installed": len(meters)},
    )
    return len(meters)


@action("metering.demo_stock", permission=None)
def do_load_demo_stock(actor: User, *, count: int, serial: int, unit_id: int) -> int:
    rng = random.Random(serial)
    writer = BulkWriter()
    metering_rules = rules()
    today, now = timezone.localdate(), timezone.now()
    ids = writer.reserve_ids(Meter, count)
    rows = [
        _meter_row(
            rng,
            ids[i],
            serial + i,
            1 if i % 3 else 3,
            "220V" if i % 3 else "380V",
            unit_id,
            None,
            "",
            today,
            now,
            metering_rules,
        )[0]
        for i in range(count)
    ]
    rows = [(*r[:14], today - dt.timedelta(days=rng.randint(1, 60)), *r[15:]) for r in rows]
    writer.insert(Meter, METER_COLUMNS, rows)
    audit.record(
        actor,
        "metering.demo_stock",
        object_type="metering.meter",
        object_id=f"{ids[0]}-{ids[-1]}",
        after={"meters_in_stock": count},
    )
    return count


def build(actor: User, scale: str) -> Iterator[str]:
    centre = OrgUnit.objects.filter(code="JL").first()
    if centre is None:
        yield "metering: metering centre JL missing — skipped"
        return
    serial = Meter.objects.filter(asset_no__startswith="3310").count() + 1
    installed, last_id = 0, 0
    large = ServicePoint.objects.count() >= 100_000
    with (
        deferred_search_indexes("gridcare.metering.migrations.0002_search_indexes")
        if large
        else nullcontext()
    ):
        while True:
            points = list(
                ServicePoint.objects.filter(id__gt=last_id, installations__isnull=True)
                .order_by("id")
                .values_list("id", "voltage_level", "metering_class", "org_unit_id")[:CHUNK]
            )
            if not points:
                break
            installed += do_load_demo_meters(actor, points=points, serial=serial, seed=serial)
            serial += len(points)
            last_id = points[-1][0]
            if installed % (CHUNK * 10) == 0:
                yield f"metering: {installed:,} meters installed"
    stock = (
        do_load_demo_stock(actor, count=STOCK[scale], serial=serial, unit_id=centre.pk) if installed else 0
    )
    overdue = Meter.objects.filter(status="installed", next_test_due__lt=timezone.localdate()).count()
    if (
        not installed and Meter.objects.exists()
    ):  # a second ``make demo``: say what was kept, not "0 installed"
        kept = Meter.objects.filter(status="installed").count()
        in_stock = Meter.objects.filter(status="in_stock").count()
        yield (
            f"metering: demo meters already present — kept {kept:,} installed, {in_stock:,} in stock, "
            f"{overdue:,} overdue on-site tests (use --reset to rebuild)"
        )
        return
    yield f"metering: {installed:,} meters installed, {stock:,} in stock at 计量中心, {overdue:,} overdue on-site tests"
