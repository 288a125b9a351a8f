"""The installed ``gridcare`` console command reaches the tariff tools (no database needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

SHIPPED = Path(__file__).resolve().parents[2] / "src/gridcare/engine/tariffs"


def run_gridcare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridcare.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tariff_quote_through_the_console_command(tmp_path: Path) -> None:
    usage = tmp_path / "usage.yaml"
    usage.write_text(
        yaml.safe_dump(
            {"period_start": "2026-01-01", "period_end": "2026-02-01", "energy_kwh": {"total": 250}}
        ),
        encoding="utf-8",
    )
    result = run_gridcare(
        "tariff",
        "quote",
        "--tariff",
        str(SHIPPED / "zhejiang_residential_tiered.yaml"),
        "--usage",
        str(usage),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    bill = json.loads(result.stdout)
    assert bill["total"] == "134.50"  # 250 kWh within tier 1 at 0.538 元/kWh


def test_missing_file_is_a_clear_error_with_exit_code_2(tmp_path: Path) -> None:
    result = run_gridcare(
        "tariff", "quote", "--tariff", str(tmp_path / "nope.yaml"), "--usage", str(tmp_path / "u.yaml")
    )
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr
