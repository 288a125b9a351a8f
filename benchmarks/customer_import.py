"""Benchmark: Excel import of 100,000 accounts with service points and installed meters, from one file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare_bench_import \\
        .venv/bin/python benchmarks/customer_import.py [--rows 100000]

Uses a dedicated database (migrated and given the demo organisation if empty). Writes an .xlsx in the import
template's format (one row per service point, with meter columns), then times the import as staff use it —
read and parse every cell, validate every row (checksums, rules, database look-ups), write everything in one
transaction (COPY on PostgreSQL) with one audit row per account and per meter. File generation is not timed.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")


def build_file(rows: int, run: int) -> bytes:
    from openpyxl import Workbook

    from gridcare.customers.demo import _address, _mobile, _person, _resident_id
    from gridcare.customers.importers import CustomerImporter

    headers = [c.header for c in CustomerImporter(None).columns]
    rng = random.Random(run)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户档案导入")
    sheet.append(headers)
    stations = ["CG", "HX", "SNS"]
    for n in range(rows):
        station = stations[n % 3]
        name = _person(rng)
        values = {
            "客户名称": name,
            "客户类型": "个人",
            "证件类型": "居民身份证",
            "证件号码": _resident_id(rng, run * 100_000 + n),
            "联系人": name,
            "手机号码": _mobile(rng),
            "户号": f"6{run:03d}{n:06d}",
            "供电所编码": station,
            "抄表周期": "每月",
            "缴费方式": "网上缴费",
            "用电地址": _address(rng, station),
            "电压等级": "220V",
            "用电类别": "居民生活",
            "用电子类": "城镇居民" if station == "CG" else "乡村居民",
            "地区类别": "城市",
            "合同容量(kVA)": 8,
            "电价代码": "RES-TIER",
            "月均电量(kWh)": rng.randint(60, 400),
            "生效日期": "2026-01-01",
            "电能表资产编号": f"8{run:03d}{n:07d}",
            "条码": f"B{run:03d}{n:07d}",
            "厂家": "威胜集团",
            "型号": "DDZY71",
            "表计类型": "电子式",
            "准确度等级": "2",
            "相数": 1,
            "电流规格": "5(60)A",
            "计度器位数": 6,
            "计度器": "有功总",
            "检定日期": "2025-12-01",
            "装表日期": "2026-01-05",
            "起度-有功总": rng.randint(0, 500),
        }
        sheet.append([values.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from gridcare.customers.actions import do_import
    from gridcare.customers.importing import importer_for, read_rows
    from gridcare.customers.models import Account
    from gridcare.org import demo as org_demo
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    if not OrgUnit.objects.filter(code="GC").exists():
        call_command("load_catalogue", verbosity=0)
        for _line in org_demo.build(system_actor(), "small"):
            pass
    actor = system_actor()
    run = Account.objects.filter(number__startswith="6").count() // args.rows + 1
    started = time.perf_counter()
    data = build_file(args.rows, run)
    print(
        f"generated {args.rows:,} rows ({len(data) / 1e6:.1f} MB .xlsx) in {time.perf_counter() - started:.1f} s "
        f"(not counted); {connection.vendor}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    )

    t0 = time.perf_counter()
    importer = importer_for("customers", actor)
    rows = read_rows(importer, data)
    t1 = time.perf_counter()
    importer.check(rows)
    t2 = time.perf_counter()
    if importer.errors:
        raise SystemExit(f"unexpected errors: {importer.errors[:5]}")
    created = do_import(actor, importer=importer, rows=len(rows))
    t3 = time.perf_counter()
    print(f"read + parse {t1 - t0:6.1f} s")
    print(f"validate     {t2 - t1:6.1f} s")
    print(f"write        {t3 - t2:6.1f} s  {created}")
    total = t3 - t0
    print(
        f"import of {args.rows:,} accounts with service points and meters: {total:.1f} s "
        f"(target ≤ 60 s): {'OK' if total <= 60 else 'SLOW'}"
    )


if __name__ == "__main__":
    main()
