"""``gridcare tariff …``: tariff tools that need no database (plain argparse, no Django).

Subcommands::

    tariff bill-urdb --tariff T.json --load L.csv [--system-peaks S] [--format json|text]
    tariff quote     --tariff FILE   --usage U.yaml                 [--format json|text]

``bill-urdb`` bills one customer-year of load (one kW value per line, 8760 hourly or 35040
15-minute lines; the year starts on a Monday) with an OpenEI URDB tariff and prints
``{"monthly": [12 totals], "annual": total, "lines": [...]}``; every line has ``month`` (1–12),
``component`` (energy, demand_tou, demand_flat, fixed, minimum, coincident_demand), ``amount``
and the quantities and prices behind it (``quantity``, ``unit``, ``items``).

``quote`` rates one bill with a gridcare tariff definition (YAML/JSON, see docs/tariffs.md) and
prints the itemised Chinese bill.  The usage file (YAML or JSON) holds the fields of
:class:`gridcare.engine.rating.Usage`, e.g.::

    period_start: 2025-07-01        # inclusive
    period_end: 2025-08-01          # exclusive
    energy_kwh: {peak: 300, valley: 200}     # or {total: 500} for a single register
    reactive_kvarh: 120             # optional: power-factor adjustment
    capacity_kva: 2000              # optional: two-part basic charge / PF applicability
    contracted_demand_kw: 800       # optional: basic charge by demand
    max_demand_kw: 900              # optional
    basic_basis: capacity           # capacity | demand, when the tariff offers both
    tier_ytd_kwh: 2600              # annual tiers: kWh billed earlier in the tier year
    cycle_days: 31                  # only for a partial cycle (move-in/out, 新装/销户)

Bad input (missing file, wrong line count, a non-numeric line, an invalid tariff) prints
``error: …`` naming the file and line, and returns exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from gridcare.engine.money import decimal_exponent
from gridcare.engine.rating import Usage, rate
from gridcare.engine.tariff import TariffError, load_tariff
from gridcare.engine.urdb import COMPONENTS, UrdbError, bill_urdb, load_urdb

__all__ = ["main", "read_load_file", "read_usage_file"]

LOAD_LENGTHS = (8760, 35040)


class InputError(Exception):
    """Bad command-line input; the message names the file (and line)."""


def read_load_file(path: str | Path) -> np.ndarray:
    """Read one kW value per line (8760 or 35040 lines); refuse anything else, naming the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"load file {p} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"load file {p} cannot be read ({exc})") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    values = np.empty(len(lines))
    for i, raw in enumerate(lines):
        s = raw.strip().rstrip(",")
        try:
            v = float(s)
        except ValueError:
            raise InputError(
                f"{p} line {i + 1}: {raw.strip()!r} is not a number (one kW value per line)"
            ) from None
        if not math.isfinite(v) or v < 0:
            raise InputError(f"{p} line {i + 1}: {raw.strip()!r} is not a finite, non-negative kW value")
        values[i] = v
    if len(values) not in LOAD_LENGTHS:
        raise InputError(
            f"{p} has {len(values)} lines; a load year has 8760 (hourly) or 35040 (15-minute) values, one per line"
        )
    return values


_USAGE_FIELDS = {
    "period_start",
    "period_end",
    "energy_kwh",
    "reactive_kvarh",
    "capacity_kva",
    "contracted_demand_kw",
    "max_demand_kw",
    "basic_basis",
    "cycle_days",
    "billing_month",
    "tier_ytd_kwh",
    "tier_year_days",
    "tier_active_days",
    "energy_by_version",
}


def read_usage_file(path: str | Path) -> Usage:
    """Read a usage record (YAML or JSON mapping with the fields of ``Usage``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"usage file {p} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"usage file {p} cannot be read ({exc})") from exc
    try:
        if p.suffix.lower() == ".json":
            doc = json.loads(text, parse_float=Decimal)
        else:
            import yaml

            doc = yaml.safe_load(text)
    except Exception as exc:  # YAML and JSON parse errors carry the line in their message
        raise InputError(f"usage file {p} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError(f"usage file {p}: expected a mapping of usage fields")
    unknown = set(doc) - _USAGE_FIELDS
    if unknown:
        raise InputError(f"usage file {p}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("period_start", "period_end", "energy_kwh"):
        if key not in doc:
            raise InputError(f"usage file {p}: {key} is missing")
    for key in ("period_start", "period_end"):
        value = doc[key]
        if isinstance(value, str):
            try:
                doc[key] = date.fromisoformat(value)
            except ValueError:
                raise InputError(f"usage file {p}: {key} {value!r} is not a date (YYYY-MM-DD)") from None
        elif not isinstance(value, date):
            raise InputError(f"usage file {p}: {key} must be a date (YYYY-MM-DD)")
    if not isinstance(doc["energy_kwh"], dict):
        raise InputError(f"usage file {p}: energy_kwh must map registers (peak, valley, … or total) to kWh")

    def dec(v: Any) -> Any:
        return Decimal(str(v)) if isinstance(v, float) else v

    doc["energy_kwh"] = {k: dec(v) for k, v in doc["energy_kwh"].items()}
    for key in ("reactive_kvarh", "capacity_kva", "contracted_demand_kw", "max_demand_kw", "tier_ytd_kwh"):
        if key in doc:
            doc[key] = dec(doc[key])
    return Usage(**doc)


def _json_default(obj: Any) -> Any:
    # amounts are Decimals with two decimals: float() prints them back exactly (shortest repr)
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() and decimal_exponent(obj) >= 0 else float(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _parse_peaks(text: str | None) -> list[int] | None:
    if text is None:
        return None
    src = text
    path = Path(text)
    if path.is_file():
        src = path.read_text(encoding="utf-8")
    parts = [x for x in src.replace("\n", ",").split(",") if x.strip()]
    try:
        return [int(x) for x in parts]
    except ValueError:
        raise InputError(f"--system-peaks: expected 12 integer timestep indices, got {text!r}") from None


def _bill_urdb(args: argparse.Namespace) -> int:
    path = Path(args.tariff)
    if not path.is_file():
        raise InputError(f"tariff file {path} not found")
    tariff = load_urdb(path)
    load = read_load_file(args.load)
    bill = bill_urdb(tariff, load, system_peaks=_parse_peaks(args.system_peaks))
    if args.format == "json":
        print(json.dumps(bill.to_dict(), default=_json_default, ensure_ascii=False, indent=2))
        return 0
    print(f"{bill.tariff_name}")
    header = "month " + " ".join(f"{c:>18}" for c in COMPONENTS) + f" {'total':>14}"
    print(header)
    for m in range(12):
        cells = []
        for c in COMPONENTS:
            amt = sum(
                (ln.amount for ln in bill.lines if ln.month == m + 1 and ln.component == c), Decimal("0.00")
            )
            cells.append(f"{amt:>18,.2f}")
        print(f"{m + 1:>5} " + " ".join(cells) + f" {bill.monthly[m]:>14,.2f}")
    print(f"annual total {bill.annual:,.2f}")
    for w in bill.warnings:
        print(f"warning: {w}")
    return 0


def _quote(args: argparse.Namespace) -> int:
    path = Path(args.tariff)
    if not path.is_file():
        raise InputError(f"tariff file {path} not found")
    tariff = load_tariff(path)
    usage = read_usage_file(args.usage)
    bill = rate(tariff, usage)
    if args.format == "json":
        print(json.dumps(bill.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{bill.tariff_name}  {bill.period_start.isoformat()} – {bill.period_end.isoformat()}（不含）")
    if bill.power_factor is not None:
        print(f"功率因数 {bill.power_factor}")
    for ln in bill.lines:
        factor = "" if ln.factor == 1 else f" × {ln.factor}"
        print(
            f"{ln.label:<28} {ln.quantity:>16} {ln.unit:<4} × {ln.unit_price:>12}{factor:<10} = {ln.amount:>14,.2f}  {ln.note}"
        )
    print(f"{'政府性基金及附加合计':<28} {bill.funds_total:>14,.2f}")
    print(f"{'电费合计':<28} {bill.total:>14,.2f}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridcare tariff", description="Tariff tools (no database needed).")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bill-urdb", help="bill a year of kW load with an OpenEI URDB tariff")
    b.add_argument("--tariff", required=True, help="URDB tariff JSON file")
    b.add_argument("--load", required=True, help="one kW value per line, 8760 or 35040 lines")
    b.add_argument(
        "--system-peaks", help="coincident demand: 12 timestep indices (comma separated, or a file)"
    )
    b.add_argument("--format", choices=("json", "text"), default="json")
    b.set_defaults(func=_bill_urdb)
    q = sub.add_parser("quote", help="itemised bill for one usage record with a tariff definition")
    q.add_argument("--tariff", required=True, help="tariff definition (YAML or JSON)")
    q.add_argument("--usage", required=True, help="usage record (YAML or JSON), see the module docstring")
    q.add_argument("--format", choices=("json", "text"), default="json")
    q.set_defaults(func=_quote)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a tariff subcommand; returns the exit code (2 for bad input)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "tariff":
        args_list = args_list[1:]
    try:
        args = _parser().parse_args(args_list)
    except SystemExit as exc:  # argparse has printed its usage error
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except (InputError, UrdbError, TariffError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
