"""The reading sheet (抄表数据导入, Excel or CSV): one row per register read; every row valid or nothing imported.

Rows are checked by the capture path's own checks (:func:`gridcare.readings.actions.check_records`), so a file,
the reader's screen and the head-end API refuse the same input with the same reasons; a valid file is then
written by :func:`gridcare.readings.actions.capture_reads` with source ``import``.
"""

from __future__ import annotations

from typing import Any

from gridcare.customers.importing import Column, Importer
from gridcare.metering.models import Register
from gridcare.readings.actions import capture_reads, check_records
from gridcare.readings.models import MeterRead

#: the column the capture path's reasons point at, by the words they start with
_REASON_COLUMNS = (
    ("抄表时间", "read_at"),
    ("电能表没有计度器", "register"),
    ("计度器", "register"),
    ("表况", "condition"),
    ("示数", "value"),
    ("缺少示数", "value"),
)


class ReadingImporter(Importer):
    kind = "readings"
    title = "抄表数据导入"
    permission = "reading.enter"
    columns = (
        Column("meter", "电能表资产号", required=True, max_length=32, example="GC00000001"),
        Column("register", "计度器", "choice", required=True, choices=Register, example="active_total"),
        Column("read_at", "抄表时间", required=True, max_length=40, example="2026-11-15 10:00"),
        Column("value", "示数", max_length=40, example="1234.56", help="Up to two decimals"),
        Column(
            "condition",
            "表况",
            max_length=20,
            example="正常",
            help="正常/停走/倒走/烧表/封印异常/门闭无法抄表/表计故障",
        ),
    )

    def __init__(self, actor: Any) -> None:
        super().__init__(actor)
        self.records: list[dict[str, Any]] = []

    def check(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        self.records = [
            {key: values.get(key) for key in ("meter", "register", "read_at", "value", "condition")}
            for _, values in rows
        ]
        clean, rejected = check_records(self.actor, self.records)
        for result in rejected:
            column = next((key for start, key in _REASON_COLUMNS if result.reason.startswith(start)), "meter")
            self.error(rows[result.index][0], column, result.reason)
        self._check_replays(rows, clean)

    def _check_replays(self, rows: list[tuple[int, dict[str, Any]]], clean: list[Any]) -> None:
        """A manual file may not contradict itself or a read already stored (the same file again is fine)."""
        seen: dict[tuple[Any, ...], Any] = {}
        stored = {
            (r.meter_id, r.register, r.read_at): r.value
            for r in MeterRead.objects.filter(
                meter_id__in={c.meter.pk for c in clean}, read_at__in={c.read_at for c in clean}
            ).exclude(status=MeterRead.Status.SUPERSEDED)
        }
        for item in clean:
            key = (item.meter.pk, item.register, item.read_at)
            if item.value is None:
                continue
            if key in stored and stored[key] != item.value:
                self.error(
                    rows[item.index][0],
                    "value",
                    f"与已有示数 {stored[key]} 不同，请走异常修正。 (Differs from the stored read: correct it instead.)",
                )
            elif key in seen and seen[key] != item.value:
                self.error(
                    rows[item.index][0], "value", "同一表计同一时刻示数不一致。 (Two values for one read.)"
                )
            seen[key] = item.value

    def write(self) -> dict[str, int]:
        results = capture_reads(self.actor, self.records, source=MeterRead.Source.IMPORT)
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts
