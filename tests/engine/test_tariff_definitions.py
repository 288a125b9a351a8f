"""Tariff definitions: shipped files load; invalid ones are refused with every problem named."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from gridcare.engine.tariff import (
    PERIODS,
    TariffError,
    TouEnergy,
    list_shipped_tariffs,
    load_shipped_tariff,
    load_tariff,
    parse_tariff,
)

SHIPPED = [
    "large_industrial_two_part_tou",
    "shanghai_general_ic_tou",
    "sichuan_residential_seasonal",
    "zhejiang_agricultural",
    "zhejiang_residential_tiered",
    "zhejiang_residential_tou_tiered",
]


def minimal() -> dict[str, Any]:
    return {
        "code": "T-MIN",
        "name": "minimal",
        "versions": [
            {
                "valid_from": "2025-01-01",
                "valid_to": None,
                "components": [{"kind": "energy_flat", "price": "0.5"}],
            }
        ],
    }


def test_shipped_tariffs_are_listed_and_load() -> None:
    assert list_shipped_tariffs() == SHIPPED
    for name in SHIPPED:
        tariff = load_shipped_tariff(name)
        assert tariff.versions and tariff.code.startswith("CN-")


def test_shanghai_schedule_is_the_rules_schedule() -> None:
    """RULES.md §2: summer peak 8–11, 13–15, 18–21; flat 6–8, 11–13, 15–18, 21–22; valley 22–6."""
    t = load_shipped_tariff("shanghai_general_ic_tou")
    tou = t.versions[-1].tou
    assert tou is not None
    sep = [tou.period_at(9, "weekday", h) for h in range(24)]
    assert [h for h in range(24) if sep[h] == "peak"] == [8, 9, 10, 13, 14, 18, 19, 20]
    assert [h for h in range(24) if sep[h] == "flat"] == [6, 7, 11, 12, 15, 16, 17, 21]
    assert [h for h in range(24) if sep[h] == "valley"] == [0, 1, 2, 3, 4, 5, 22, 23]
    assert tou.period_at(7, "holiday", 13) == "critical"
    energy = t.versions[-1].energy
    assert isinstance(energy, TouEnergy)
    # ratios 1.875 : 1.5 : 1 : 0.5 on the flat price 0.68
    flat = energy.prices["flat"]
    assert [energy.prices[p] * 1000 // flat for p in PERIODS] == [1875, 1500, 1000, 500]


def test_yaml_and_json_forms_are_equivalent(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src/gridcare/engine/tariffs/zhejiang_residential_tiered.yaml"
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    doc["versions"][0]["valid_from"] = doc["versions"][0]["valid_from"].isoformat()
    out = tmp_path / "t.json"
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert load_tariff(out) == load_tariff(src)


def test_versions_split_a_period_by_days() -> None:
    t = load_shipped_tariff("shanghai_general_ic_tou")
    parts = [(i, s, e) for i, _, s, e in t.parts(date(2024, 12, 16), date(2025, 1, 16))]
    assert parts == [(0, date(2024, 12, 16), date(2025, 1, 1)), (1, date(2025, 1, 1), date(2025, 1, 16))]
    with pytest.raises(TariffError, match="no version in force on 2023-12-31"):
        list(t.parts(date(2023, 12, 31), date(2024, 1, 2)))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["versions"][0]["components"][0].update(price="0.1234567"), "components/0"),
        (lambda d: d["versions"][0].update(valid_from="2025/01/01"), "valid_from"),
        (
            lambda d: d["versions"][0]["components"].append({"kind": "energy_flat", "price": "1"}),
            "at most one energy component",
        ),
        (lambda d: d["versions"][0]["components"].append({"kind": "teleport"}), "teleport"),
        (
            lambda d: d["versions"].append(
                {"valid_from": "2025-06-01", "components": [{"kind": "energy_flat", "price": 1}]}
            ),
            "overlaps",
        ),
        (lambda d: d["versions"][0].update(valid_to="2024-01-01"), "must be after valid_from"),
    ],
)
def test_invalid_definitions_are_refused(edit: Any, message: str) -> None:
    doc = minimal()
    edit(doc)
    with pytest.raises(TariffError, match=message):
        parse_tariff(doc)


def test_every_problem_is_reported_at_once() -> None:
    doc = minimal()
    doc["versions"][0]["components"] = [
        {
            "kind": "energy_tiered",
            "basis": "monthly",
            "tiers": [
                {"upto": 200, "price": "0.5"},
                {"upto": 100, "price": "0.6"},
                {"upto": 300, "price": "0.9"},
            ],
        }
    ]
    with pytest.raises(TariffError) as info:
        parse_tariff(doc)
    text = str(info.value)
    assert "thresholds must increase" in text
    assert "the last tier must be unlimited" in text


def test_tou_schedule_needs_prices_and_full_coverage() -> None:
    doc = minimal()
    v = doc["versions"][0]
    v["components"] = [{"kind": "energy_tou", "prices": {"peak": "1.0", "valley": "0.3"}}]
    v["tou"] = {
        "rules": [
            {
                "months": list(range(1, 12)),
                "day_types": ["weekday", "weekend", "holiday"],
                "hours": "V" * 8 + "F" * 8 + "P" * 8,
            }
        ]
    }
    with pytest.raises(TariffError) as info:
        parse_tariff(doc)
    text = str(info.value)
    assert "no price for it" in text and "flat" in text
    assert "no rule covers month 12 weekday" in text


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TariffError, match="cannot read"):
        load_tariff(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TariffError, match=r"bad\.json: not valid JSON \(line 1"):
        load_tariff(bad)
    doc = copy.deepcopy(minimal())
    doc["versions"][0]["components"][0]["price"] = "abc"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(TariffError, match=r"wrong\.json: versions/0/components/0"):
        load_tariff(wrong)


def test_interval_data_to_tou_registers() -> None:
    """One July weekday (1 July 2025, a Tuesday) at 1 kWh per 15 minutes, Shanghai schedule:
    valley 22–06 = 8 h → 32 kWh; flat 06–08, 11–13, 15–18, 21–22 = 8 h → 32; peak 08–11, 18–21 = 6 h
    → 24; critical 13–15 = 2 h → 8 kWh.  A holiday uses the holiday schedule (here the same)."""
    from gridcare.engine.interval import tou_registers

    tou = load_shipped_tariff("shanghai_general_ic_tou").versions[-1].tou
    assert tou is not None
    regs = tou_registers(tou, date(2025, 7, 1), np.ones(96))
    assert regs == {"critical": Decimal(8), "peak": Decimal(24), "flat": Decimal(32), "valley": Decimal(32)}
    assert (
        sum(tou_registers(tou, date(2025, 7, 1), np.full(96 * 3, 0.25), holidays={date(2025, 7, 2)}).values())
        == 72
    )
    with pytest.raises(TariffError, match="whole days"):
        tou_registers(tou, date(2025, 7, 1), np.ones(95))
