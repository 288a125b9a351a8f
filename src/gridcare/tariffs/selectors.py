"""Reads of the tariff catalogue: build engine tariffs from stored rows, quote bills, compare basic charges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridcare.core.errors import InvalidInput
from gridcare.engine.rating import Bill, Usage, rate
from gridcare.engine.tariff import BasicCharge, TariffError, parse_tariff
from gridcare.engine.tariff import Tariff as EngineTariff
from gridcare.tariffs.models import Tariff


def version_document(
    version_from: dt.date, version_to: dt.date | None, body: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        **body,
        "valid_from": version_from.isoformat(),
        "valid_to": version_to.isoformat() if version_to else None,
    }


def tariff_document(tariff: Tariff, extra_versions: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The engine definition of a stored tariff (optionally with versions not yet stored, for validation)."""
    versions = [version_document(v.valid_from, v.valid_to, v.body) for v in tariff.versions.all()]
    doc: dict[str, Any] = {"code": tariff.code, "name": tariff.name, "versions": [*versions, *extra_versions]}
    if tariff.province:
        doc["province"] = tariff.province
    if tariff.customer_class:
        doc["customer_class"] = tariff.customer_class
    return doc


def engine_tariff(tariff: Tariff) -> EngineTariff:
    if tariff.kind != Tariff.Kind.CHINESE:
        raise InvalidInput(
            {
                "tariff": "该电价为 URDB 电价，请按负荷曲线计费。 (A URDB tariff is billed from a load profile.)"
            }
        )
    try:
        return parse_tariff(tariff_document(tariff))
    except TariffError as exc:
        raise InvalidInput({"tariff": exc.problems}) from None


def quote(tariff: Tariff, usage: Usage) -> Bill:
    """电费试算 — the itemised bill this usage would get under this tariff."""
    try:
        return rate(engine_tariff(tariff), usage)
    except TariffError as exc:
        raise InvalidInput({"usage": exc.problems}) from None


@dataclass(frozen=True)
class BasicChargeComparison:
    """Twelve months of basic charge by capacity and by maximum demand, and which is cheaper."""

    months: list[dict[str, Any]]
    capacity_total: Decimal
    demand_total: Decimal
    cheaper: str
    saving: Decimal


def compare_basic_charge(
    tariff: Tariff,
    *,
    capacity_kva: Decimal,
    contracted_demand_kw: Decimal,
    max_demand_kw: Sequence[Decimal],
    year: int,
) -> BasicChargeComparison:
    """For a two-part customer: capacity-based vs demand-based basic charge over 12 months of demand data."""
    engine = engine_tariff(tariff)
    if len(max_demand_kw) != 12:
        raise InvalidInput(
            {"max_demand_kw": f"需要 12 个月的最大需量，收到 {len(max_demand_kw)} 个。 (12 values needed.)"}
        )
    months: list[dict[str, Any]] = []
    totals = {"capacity": Decimal("0.00"), "demand": Decimal("0.00")}
    for month, demand in enumerate(max_demand_kw, start=1):
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
        basic = engine.version_on(start).component("basic")
        if not isinstance(basic, BasicCharge) or basic.capacity_price is None or basic.demand_price is None:
            raise InvalidInput(
                {"tariff": "该电价没有可选的两部制基本电费。 (The tariff offers no choice of basic charge.)"}
            )
        row: dict[str, Any] = {"month": month, "max_demand_kw": demand}
        for basis in ("capacity", "demand"):
            usage = Usage(
                period_start=start,
                period_end=end,
                # Basic charge lines do not depend on energy; a nominal 1 kWh without reactive energy keeps
                # the rest of the bill computable (the PF adjustment needs active energy).
                energy_kwh={"flat": 1} if engine.version_on(start).is_tou else {"total": 1},
                reactive_kvarh=0,
                capacity_kva=capacity_kva,
                contracted_demand_kw=contracted_demand_kw,
                max_demand_kw=demand,
                basic_basis=basis,
            )
            try:
                bill = rate(engine, usage)
            except TariffError as exc:
                raise InvalidInput({"max_demand_kw": exc.problems}) from None
            amount = sum((ln.amount for ln in bill.lines if ln.code.startswith("basic")), Decimal("0.00"))
            row[basis] = amount
            totals[basis] += amount
        months.append(row)
    cheaper = "capacity" if totals["capacity"] <= totals["demand"] else "demand"
    return BasicChargeComparison(
        months=months,
        capacity_total=totals["capacity"],
        demand_total=totals["demand"],
        cheaper=cheaper,
        saving=abs(totals["capacity"] - totals["demand"]),
    )
