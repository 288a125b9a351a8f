"""Engine test helpers: reference data copied into the repository (tests/data) and PySAM runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: Copies of ../shared/data used by the tests (CI runs in a clean clone without ../shared).
DATA = Path(__file__).resolve().parents[1] / "data"
URDB_DIR = DATA / "urdb"
LOADS_DIR = DATA / "loads"

#: (city, building) load profiles copied into tests/data/loads.
LOAD_PROFILES = [
    ("Chicago", "Hospital"),
    ("Houston", "SmallOffice"),
    ("Chicago", "FlatLoad"),
    ("Houston", "Supermarket"),
]


def hourly_load(city: str, building: str) -> np.ndarray:
    """Hourly kW: the normalised profile × the building's annual kWh."""
    annual = json.loads((LOADS_DIR / "total_electric_annual_kwh.json").read_text())[city][building.lower()]
    return np.loadtxt(LOADS_DIR / f"crb8760_norm_{city}_{building}.dat") * annual


def urdb_doc(name: str) -> dict[str, Any]:
    return json.loads((URDB_DIR / f"{name}.json").read_text())


def run_pysam(doc: dict[str, Any], load: np.ndarray) -> dict[str, np.ndarray]:
    """PySAM Utilityrate5 on a load-only year; returns the year-1 monthly outputs used in tests."""
    import PySAM.Utilityrate5 as utilityrate5
    from PySAM.UtilityRateTools import URDBv8_to_ElectricityRates

    model = utilityrate5.new()
    model.ElectricityRates.assign(
        URDBv8_to_ElectricityRates(copy.deepcopy(doc))
    )  # it edits schedules in place
    model.ElectricityRates.rate_escalation = (0,)
    model.Lifetime.analysis_period = 1
    model.Lifetime.system_use_lifetime_output = 0
    model.Lifetime.inflation_rate = 0
    model.Load.load = tuple(float(x) for x in load)
    model.SystemOutput.gen = (0.0,) * len(load)
    model.SystemOutput.degradation = (0,)
    model.execute(0)
    out = model.Outputs
    keys = (
        "charge_wo_sys_ec_ym",
        "charge_wo_sys_dc_fixed_ym",
        "charge_wo_sys_dc_tou_ym",
        "charge_wo_sys_fixed_ym",
    )
    return {k: np.array(getattr(out, k))[1] for k in keys}


@pytest.fixture(scope="session")
def loads() -> dict[str, np.ndarray]:
    return {f"{c}_{b}": hourly_load(c, b) for c, b in LOAD_PROFILES}
