"""Benchmark: URDB bills of N customer-years of hourly load, gridcare vs NREL PySAM, same run.

    .venv/bin/python benchmarks/rating_vs_pysam.py [--n 200] [--resolution hourly|15min] [--seed 1] [--per-kw]

Customers are the DOE reference-building profiles of ``tests/data/loads`` (or ``../shared/data``),
scaled by a random factor with hour-to-hour noise, spread over the four development URDB tariffs.
gridcare bills each tariff's customers in one vectorised call (``bill_urdb_many``); PySAM runs
``Utilityrate5`` once per customer-year, reusing one model per tariff (its fastest use).  Timing
rounds alternate the two, tariff by tariff, so that both see the same load of a shared machine.
Prints bills/s for both, the ratio, and the largest difference of any monthly energy / flat demand /
TOU demand line (ours are rounded to the cent, PySAM's are not: ≤ 0.005 expected).

``--per-kw`` adds two tariffs with energy tiers in ``kWh/kW`` and ``kWh/kW daily`` (hours-use-of-demand blocks
with kWh steps, on the schedules of the PySAM test tariff — no URDB tariff of the reference data uses these
units): their limits follow each customer's monthly peak.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from gridcare.engine.urdb import bill_urdb_many, parse_urdb

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TARIFFS = [
    "pysam_tests_urdbv7",
    "reoptjl_entergy_lps_tou",
    "reoptjl_leap_year",
    "reoptjl_tiered_energy_demand",
]
#: energy tiers in kWh/kW (``--per-kw``): blocks of 200 and 400 h of the month's peak with kWh steps, and daily
PER_KW = {
    "per_kw_blocks": [
        {"max": 200, "unit": "kWh/kW", "rate": 0.0},
        {"max": 3000, "unit": "kWh", "rate": 0.15},
        {"max": 10000, "unit": "kWh", "rate": 0.12},
        {"max": 1e9, "unit": "kWh", "rate": 0.10},
        {"max": 400, "unit": "kWh/kW", "rate": 0.0},
        {"max": 1e9, "unit": "kWh", "rate": 0.08},
        {"unit": "kWh/kW", "rate": 0.05},
    ],
    "per_kw_daily": [
        {"max": 7, "unit": "kWh/kW daily", "rate": 0.12},
        {"unit": "kWh/kW daily", "rate": 0.08},
    ],
}
COMPARED = {
    "energy": "charge_wo_sys_ec_ym",
    "demand_flat": "charge_wo_sys_dc_fixed_ym",
    "demand_tou": "charge_wo_sys_dc_tou_ym",
}


def profiles() -> list[np.ndarray]:
    """Hourly kW profiles: normalised DOE building profile × its annual kWh."""
    folder = DATA / "loads"
    if not folder.is_dir():
        folder = ROOT.parent / "shared" / "data" / "loads"
    annual = json.loads((folder / "total_electric_annual_kwh.json").read_text())
    out = []
    for path in sorted(folder.glob("crb8760_norm_*.dat")):
        _, _, city, building = path.stem.split("_", 3)
        out.append(np.loadtxt(path) * annual[city][building.lower()])
    return out


def make_loads(n: int, resolution: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = profiles()
    idx = rng.integers(0, len(base), size=n)
    scale = rng.uniform(0.2, 3.0, size=(n, 1))
    hourly = np.stack([base[i] for i in idx]) * scale * rng.uniform(0.9, 1.1, size=(n, 8760))
    if resolution == "hourly":
        return hourly
    return np.repeat(hourly, 4, axis=1) * rng.uniform(0.85, 1.15, size=(n, 35040))


def pysam_model(doc: dict) -> object:
    import PySAM.Utilityrate5 as utilityrate5
    from PySAM.UtilityRateTools import URDBv8_to_ElectricityRates

    model = utilityrate5.new()
    model.ElectricityRates.assign(URDBv8_to_ElectricityRates(copy.deepcopy(doc)))
    model.ElectricityRates.rate_escalation = (0,)
    model.Lifetime.analysis_period = 1
    model.Lifetime.system_use_lifetime_output = 0
    model.Lifetime.inflation_rate = 0
    model.SystemOutput.degradation = (0,)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="customer-years (default 200)")
    parser.add_argument("--resolution", choices=("hourly", "15min"), default="hourly")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (default 3)")
    parser.add_argument("--per-kw", action="store_true", help="add two tariffs with kWh/kW energy tiers")
    args = parser.parse_args()

    docs = {name: json.loads((DATA / "urdb" / f"{name}.json").read_text()) for name in TARIFFS}
    if args.per_kw:
        for name, tiers in PER_KW.items():
            doc = copy.deepcopy(docs["pysam_tests_urdbv7"])
            doc["energyratestructure"] = [copy.deepcopy(tiers) for _ in doc["energyratestructure"]]
            docs[name] = doc
    names = list(docs)
    tariffs = {name: parse_urdb(doc) for name, doc in docs.items()}
    loads = make_loads(args.n, args.resolution, args.seed)
    # customers are held tariff by tariff (as a billing run reads them), so each tariff's loads are
    # one contiguous block and the timed call gets a view, not a gathered copy
    bounds = np.linspace(0, args.n, len(names) + 1).astype(int)
    groups = {name: np.arange(bounds[i], bounds[i + 1]) for i, name in enumerate(names)}
    blocks = {name: loads[rows[0] : rows[-1] + 1] for name, rows in groups.items()}
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{args.n} customer-years, {args.resolution} load ({loads.shape[1]} steps), {len(names)} URDB tariffs"
    )

    # warm-up (imports, first-call allocations) on a couple of rows, not timed
    for name in names:
        bill_urdb_many(tariffs[name], blocks[name][:2])
    models = {name: pysam_model(docs[name]) for name in names}
    zeros = (0.0,) * loads.shape[1]
    for model in models.values():
        model.SystemOutput.gen = zeros  # type: ignore[attr-defined]

    # Rounds alternate gridcare and PySAM tariff by tariff, so both see the same background load
    # of this shared machine; the ratio is reported per round and as the median.
    worst = 0.0
    rounds: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        t_ours = t_pysam = 0.0
        for name, rows in groups.items():
            t0 = time.perf_counter()
            ours = bill_urdb_many(tariffs[name], blocks[name])
            t_ours += time.perf_counter() - t0
            model = models[name]
            for k, row in enumerate(rows):
                t1 = time.perf_counter()
                model.Load.load = tuple(loads[row])  # type: ignore[attr-defined]
                model.execute(0)  # type: ignore[attr-defined]
                out = model.Outputs  # type: ignore[attr-defined]
                ref = {key: np.array(getattr(out, key))[1] for key in COMPARED.values()}
                t_pysam += time.perf_counter() - t1
                for component, key in COMPARED.items():
                    got = ours.cents[component][k] / 100 if component in ours.cents else np.zeros(12)
                    worst = max(worst, float(np.abs(got - ref[key]).max()))
        rounds.append((t_ours, t_pysam))

    for i, (t_ours, t_pysam) in enumerate(rounds, 1):
        print(
            f"round {i}: gridcare {t_ours * 1e3:7.1f} ms ({t_ours / args.n * 1e6:6.1f} µs each), "
            f"PySAM {t_pysam:6.3f} s ({t_pysam / args.n * 1e3:5.2f} ms each) → {t_pysam / t_ours:5.0f}×"
        )
    t_ours = float(np.median([r[0] for r in rounds]))
    t_pysam = float(np.median([r[1] for r in rounds]))
    ratio = float(np.median([r[1] / r[0] for r in rounds]))
    print(
        f"gridcare : {args.n / t_ours:10,.0f} customer-years/s  ({t_ours / args.n * 1e6:,.1f} µs each, median)"
    )
    print(
        f"PySAM    : {args.n / t_pysam:10,.0f} customer-years/s  ({t_pysam / args.n * 1e3:,.2f} ms each, median)"
    )
    print(
        f"ratio    : {ratio:,.0f}× PySAM throughput (median of {args.rounds} rounds, one thread each; goal ≥ 100×)"
    )
    print(
        f"largest difference in a monthly energy / demand line: {worst:.6f} $ (lines rounded to the cent: ≤ 0.005)"
    )


if __name__ == "__main__":
    main()
