"""``gridcare tariff`` CLI: JSON output of bill-urdb and quote; clear errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gridcare.tariffs.cli import main

from .conftest import URDB_DIR, hourly_load, run_pysam, urdb_doc

SHIPPED = Path(__file__).resolve().parents[2] / "src/gridcare/engine/tariffs"


@pytest.fixture
def load_file(tmp_path: Path) -> Path:
    path = tmp_path / "load.csv"
    path.write_text(
        "\n".join(f"{v:.6f}" for v in hourly_load("Houston", "SmallOffice")) + "\n", encoding="utf-8"
    )
    return path


def test_bill_urdb_json(load_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "bill-urdb",
            "--tariff",
            str(URDB_DIR / "pysam_tests_urdbv7.json"),
            "--load",
            str(load_file),
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["monthly"]) == 12
    assert out["annual"] == pytest.approx(sum(out["monthly"]), abs=1e-6)
    components = {ln["component"] for ln in out["lines"]}
    assert components == {"energy", "demand_flat", "demand_tou", "fixed"}
    for ln in out["lines"]:
        assert 1 <= ln["month"] <= 12 and isinstance(ln["amount"], int | float)
        assert "quantity" in ln and "unit" in ln and "items" in ln
    january_energy = next(ln for ln in out["lines"] if ln["month"] == 1 and ln["component"] == "energy")
    assert {"period", "tier", "kwh", "rate"} <= set(january_energy["items"][0])
    for month in range(12):
        total = sum(ln["amount"] for ln in out["lines"] if ln["month"] == month + 1)
        assert total == pytest.approx(out["monthly"][month], abs=1e-6)
    # the energy lines are PySAM's monthly energy charges, to half a cent
    load = np.loadtxt(load_file)
    ref = run_pysam(urdb_doc("pysam_tests_urdbv7"), load)["charge_wo_sys_ec_ym"]
    ours = [ln["amount"] for ln in out["lines"] if ln["component"] == "energy"]
    assert np.abs(np.array(ours) - ref).max() <= 0.005 + 1e-7


def test_bill_urdb_text_and_15_minute_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.csv"
    path.write_text("\n".join(["1.5"] * 35040), encoding="utf-8")
    assert (
        main(
            [
                "tariff",
                "bill-urdb",
                "--tariff",
                str(URDB_DIR / "reoptjl_leap_year.json"),
                "--load",
                str(path),
                "--format",
                "text",
            ]
        )
        == 0
    )
    assert "annual total" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1\n" * 100, "has 100 lines; a load year has 8760"),
        ("1\n" * 41 + "abc\n" + "1\n" * 8718, "line 42: 'abc' is not a number"),
        ("1\n" * 9 + "-2\n" + "1\n" * 8750, "line 10: '-2' is not a finite, non-negative kW value"),
    ],
)
def test_bill_urdb_bad_load(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert (
        main(["bill-urdb", "--tariff", str(URDB_DIR / "pysam_tests_urdbv7.json"), "--load", str(path)]) == 2
    )
    err = capsys.readouterr().err
    assert message in err and "bad.csv" in err


def test_bill_urdb_missing_files(tmp_path: Path, load_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bill-urdb", "--tariff", str(tmp_path / "nope.json"), "--load", str(load_file)]) == 2
    assert "tariff file" in capsys.readouterr().err
    assert (
        main(
            [
                "bill-urdb",
                "--tariff",
                str(URDB_DIR / "pysam_tests_urdbv7.json"),
                "--load",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "load file" in capsys.readouterr().err


def test_bill_urdb_broken_tariff(load_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "bill-urdb",
                "--tariff",
                str(URDB_DIR / "reoptapi_missing_rate_BROKEN.json"),
                "--load",
                str(load_file),
            ]
        )
        == 2
    )
    assert "has no 'rate'" in capsys.readouterr().err


def test_quote_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usage = tmp_path / "usage.yaml"
    usage.write_text(
        "period_start: 2025-12-01\nperiod_end: 2026-01-01\nenergy_kwh: {peak: 300, valley: 200}\ntier_ytd_kwh: 2600\n",
        encoding="utf-8",
    )
    code = main(
        [
            "quote",
            "--tariff",
            str(SHIPPED / "zhejiang_residential_tou_tiered.yaml"),
            "--usage",
            str(usage),
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == "245.00"
    assert [(ln["code"], ln["amount"]) for ln in out["lines"]] == [
        ("energy_peak", "170.40"),
        ("energy_valley", "57.60"),
        ("tier_surcharge2", "17.00"),
    ]
    assert out["lines"][0]["label"] == "高峰电费"


def test_quote_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usage = tmp_path / "usage.json"
    usage.write_text(
        json.dumps(
            {
                "period_start": "2025-07-01",
                "period_end": "2025-08-01",
                "energy_kwh": {"critical": 20000, "peak": 200000, "flat": 300000, "valley": 280000},
                "reactive_kvarh": 500000,
                "capacity_kva": 2000,
                "basic_basis": "capacity",
            }
        ),
        encoding="utf-8",
    )
    assert (
        main(
            [
                "quote",
                "--tariff",
                str(SHIPPED / "large_industrial_two_part_tou.yaml"),
                "--usage",
                str(usage),
                "--format",
                "text",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "功率因数调整电费" in out and "603,719.38" in out


def test_quote_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tariff = str(SHIPPED / "zhejiang_residential_tiered.yaml")
    assert main(["quote", "--tariff", tariff, "--usage", str(tmp_path / "none.yaml")]) == 2
    assert "usage file" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("period_start: 2025-01-01\nenergy_kwh: {total: 1}\n", encoding="utf-8")
    assert main(["quote", "--tariff", tariff, "--usage", str(bad)]) == 2
    assert "period_end is missing" in capsys.readouterr().err
    assert main(["quote", "--tariff", tariff]) == 2  # argparse: --usage required
    assert "--usage" in capsys.readouterr().err
