"""``gridcare readings <sub-command>`` — the meter-reading command group.

    gridcare readings vee --period 2026-11 [--unit CODE]    period VEE (抄表期校核), figures in Chinese
    gridcare readings ingest FILE… [--user U] [--no-progress]  interval files (CSV/Parquet) into the store, with a
                                                           progress bar; register-read files through their import
    gridcare readings settle [--chunk N]                   settle pending head-end receipts now (采集入库)

Each sub-command is a ``(add_arguments, run)`` pair in :data:`SUBCOMMANDS`: a new one adds its pair there and
nothing else changes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridcare.core.context import origin
from gridcare.core.errors import InvalidInput
from gridcare.core.locks import JobBusy
from gridcare.org.models import OrgUnit, User
from gridcare.org.selectors import system_actor
from gridcare.readings.actions import PeriodVeeResult, do_run_period_vee
from gridcare.readings.actions.headend import settle
from gridcare.readings.conf import HEADEND_SETTLE_CHUNK
from gridcare.readings.ingest import ingest_files
from gridcare.readings.periods import parse_period

#: rule code → the short Chinese name staff use (the first words of the engine's message)
RULE_NAMES: dict[str, str] = {
    "read_out_of_range": "示数无效",
    "missing_read": "缺抄",
    "reverse_running": "倒走",
    "rollover": "翻转",
    "zero_consumption": "零电量",
    "surge_previous": "环比突变",
    "surge_last_year": "同比突变",
    "tou_sum": "分时不平",
    "demand_over_capacity": "需量超容",
    "energy_over_capacity": "电量超容",
    "multiplier_change": "倍率变更",
    "outside_window": "超期抄表",
    "estimated_new_remote": "远程前三期估抄",
}


def _vee_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", required=True, help="抄表期 YYYY-MM")
    parser.add_argument("--unit", default=None, help="单位代码：只校核该单位及下级的抄表段")


def summary(result: PeriodVeeResult, scope: str) -> list[str]:
    """The run in Chinese with its figures (what the CLI prints)."""
    by_rule = "，".join(f"{RULE_NAMES.get(rule, rule)} {count:,}" for rule, count in result.raised.items())
    seconds = result.seconds
    total = sum(seconds.values())
    return [
        f"抄表期 {result.period} 周期校核（{scope}，抄表段 {result.routes:,} 个）",
        f"  校核示数 {result.reads:,} 条",
        f"  缺抄 {result.missing:,} 条（抄表窗口已过仍未抄）",
        f"  新增异常 {result.total_raised:,} 条" + (f"：{by_rule}" if by_rule else ""),
        f"  复核消除 {result.cleared:,} 条；更新示数 {result.reads_updated:,} 条，任务 {result.tasks_updated:,} 条",
        f"  用时 {total:.2f} 秒（读取 {seconds['load']:.2f} / 引擎 {seconds['engine']:.2f} / 写回 {seconds['write']:.2f}）"
        + (f"，{result.reads / total:,.0f} 条/秒" if total > 0 else ""),
    ]


def _vee(command: BaseCommand, options: dict[str, Any]) -> None:
    period = options["period"]
    try:
        parse_period(period)
    except InvalidInput as error:
        raise CommandError(f"--period: {error.message}") from error
    unit = None
    if options["unit"]:
        unit = OrgUnit.objects.filter(code=options["unit"]).first()
        if unit is None:
            raise CommandError(f"--unit: 未知单位「{options['unit']}」。 (Unknown unit.)")
    with origin(job_id=f"readings-vee-{period}-{int(time.time())}"):
        try:
            result = do_run_period_vee(system_actor(), period, org_unit=unit)
        except JobBusy as busy:
            command.stdout.write(busy.message)
            return
    for line in summary(result, f"单位 {unit.name}" if unit is not None else "全部抄表段"):
        command.stdout.write(line)


def _ingest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", help="CSV 或 Parquet 文件 (15 分钟数据或抄表示数)")
    parser.add_argument("--user", help="以该用户身份导入（默认：系统账号）")
    parser.add_argument("--no-progress", action="store_true", help="不显示进度条")


def _ingest(command: BaseCommand, options: dict[str, Any]) -> None:
    actor = system_actor()
    if options.get("user"):
        named = User.objects.filter(username=options["user"], is_active=True).first()
        if named is None:
            raise CommandError(f"--user: 未知或已停用的用户「{options['user']}」。 (No such active user.)")
        actor = named
    summaries = ingest_files(actor, options["files"], progress=not options["no_progress"])
    for file_summary in summaries:
        for line in file_summary.lines():
            command.stdout.write(line)
    if any(s.kind == "unreadable" for s in summaries):
        raise CommandError("部分文件未能导入（见上）。 (Some files were not ingested, see above.)")


def settle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunk", type=int, default=HEADEND_SETTLE_CHUNK, help="receipts per transaction")


def run_settle(command: BaseCommand, options: dict[str, Any]) -> None:
    """Settle now and print what was settled ."""
    started = time.perf_counter()
    with origin(job_id=f"readings-settle-{int(time.time())}"):
        try:
            chunks = settle(chunk=options["chunk"])
        except JobBusy as busy:  # another copy is settling: this run is skipped
            command.stdout.write(busy.message)
            return
    seconds = time.perf_counter() - started
    receipts = sum(c.receipts for c in chunks)
    counts: dict[str, int] = {}
    for chunk in chunks:
        for key, value in {**chunk.counts, **chunk.conflicts}.items():
            counts[key] = counts.get(key, 0) + value
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    command.stdout.write(
        f"settled {receipts} receipts in {len(chunks)} chunks, {seconds:.2f} s"
        f" ({receipts / seconds if seconds else 0:,.0f} reads/s){': ' + detail if detail else ''}"
    )


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., None]]] = {
    "vee": ("抄表期校核 (period VEE)", _vee_arguments, _vee),
    "settle": ("采集入库 (settle head-end receipts)", settle_arguments, run_settle),
    "ingest": ("导入采集/抄表文件 (ingest interval or register-read files)", _ingest_arguments, _ingest),
}


class Command(BaseCommand):
    help = "Meter reading (抄表) commands: " + ", ".join(SUBCOMMANDS)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}"
        )
        for name, (help_text, arguments, _run) in SUBCOMMANDS.items():
            arguments(commands.add_parser(name, help=help_text))

    def handle(self, *args: object, **options: Any) -> None:
        _help, _arguments, run = SUBCOMMANDS[options["subcommand"]]
        run(self, options)
