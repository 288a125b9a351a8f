"""``gridcare keyaccounts <sub-command>`` — key accounts and market development.

    gridcare keyaccounts classify [--user U]             (re)classify key accounts by the rules (大客户认定)
    gridcare keyaccounts plan --year 2027 [--user U]     the annual visit plans (大客户回访计划)
    gridcare keyaccounts expire [--user U]               free idle prospect registrations (备案过期释放)
    gridcare keyaccounts credit [--month 2026-11]        the monthly credit scores (信用评价; default last month)
    gridcare keyaccounts credit-rules [--file r.yaml]    show the credit-score rules, or set a new version
    gridcare keyaccounts adjust-credit --account N --points P --reason R --user U   调整信用分
    gridcare keyaccounts budget --year Y [--export f.xlsx]  budget execution by region and owner (预算执行)

Without ``--user`` the command acts as the system account.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridcare.core.context import origin
from gridcare.core.errors import GridcareError
from gridcare.core.locks import JobBusy
from gridcare.keyaccounts.actions import (
    do_classify_key_accounts,
    do_expire_registrations,
    do_generate_visit_plan,
)
from gridcare.org.models import User
from gridcare.org.selectors import system_actor


class Command(BaseCommand):
    help = (
        "Key accounts: classify | plan --year YYYY | expire | credit | credit-rules | adjust-credit | budget"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "subcommand",
            choices=["classify", "plan", "expire", "credit", "credit-rules", "adjust-credit", "budget"],
        )
        parser.add_argument("--year", type=int, default=None, help="回访计划/预算年度 (plan, budget)")
        parser.add_argument("--month", default=None, help="评价月份 YYYY-MM (credit)")
        parser.add_argument("--file", default=None, help="规则文件 YAML/JSON (credit-rules)")
        parser.add_argument("--note", default="", help="说明 (credit-rules)")
        parser.add_argument("--account", default=None, help="户号 (adjust-credit)")
        parser.add_argument("--points", type=int, default=None, help="调整分数 ± (adjust-credit)")
        parser.add_argument("--reason", default="", help="调整原因 (adjust-credit)")
        parser.add_argument("--export", default=None, help="导出 Excel 文件 (budget)")
        parser.add_argument("--user", default=None, help="以该用户身份执行 (act as this user)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["user"])
        sub = options["subcommand"]
        try:
            with origin(job_id=f"keyaccounts-{sub}-{int(timezone.now().timestamp())}"):
                if sub == "classify":
                    s = do_classify_key_accounts(actor)
                    self.stdout.write(
                        f"大客户认定：符合规则 {s['matched']:,} 户，新增 {s['created']:,}，变更 {s['changed']:,}，"
                        f"取消 {s['dropped']:,}"
                    )
                elif sub == "plan":
                    year = options["year"] or timezone.localdate().year
                    count = do_generate_visit_plan(actor, year=year)
                    self.stdout.write(f"{year} 年回访计划：新增计划回访 {count:,} 次")
                elif sub == "expire":
                    freed = do_expire_registrations(actor)
                    self.stdout.write(f"备案过期释放：{freed:,} 户")
                elif sub == "credit":
                    self._credit(actor, options["month"])
                elif sub == "credit-rules":
                    self._credit_rules(actor, options["file"], options["note"])
                elif sub == "adjust-credit":
                    self._adjust(actor, options)
                else:
                    self._budget(actor, options["year"] or timezone.localdate().year, options["export"])
        except JobBusy as busy:
            self.stdout.write(busy.message)
        except GridcareError as error:
            raise CommandError(error.message) from error

    def _credit(self, actor: User, month: str | None) -> None:
        from gridcare.keyaccounts.credit_actions import do_compute_credit_scores

        s = do_compute_credit_scores(actor, month=month)
        grades = "，".join(f"{g} {n:,}" for g, n in s["by_grade"].items())
        self.stdout.write(
            f"{s['month']} 信用评价：评价 {s['scored']:,} 户（规则 v{s['rules_version']}），{grades}；"
            f"用时 {s['seconds']} 秒"
        )

    def _credit_rules(self, actor: User, path: str | None, note: str) -> None:
        import json
        from pathlib import Path

        import yaml

        from gridcare.keyaccounts.credit_actions import current_rule_set, do_set_credit_rules

        if path is None:
            rule_set = current_rule_set()
            self.stdout.write(f"# 信用评价规则 v{rule_set.version}")
            self.stdout.write(yaml.safe_dump(rule_set.rules, allow_unicode=True, sort_keys=False))
            return
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as error:
            raise CommandError(f"无法读取规则文件 {path}：{error} (Cannot read the rules file.)") from error
        rule_set = do_set_credit_rules(actor, rules=data, note=note)
        self.stdout.write(f"信用评价规则已更新为 v{rule_set.version}")

    def _adjust(self, actor: User, options: dict[str, Any]) -> None:
        from gridcare.customers.models import Account
        from gridcare.keyaccounts.credit_actions import do_adjust_credit_score

        account = Account.objects.filter(number=options["account"] or "").first()
        if account is None:
            raise CommandError(f"没有户号「{options['account']}」。 (No such account.)")
        if options["points"] is None:
            raise CommandError("请用 --points 给出调整分数。 (--points is required.)")
        done = do_adjust_credit_score(actor, account, points=options["points"], reason=options["reason"])
        self.stdout.write(
            f"户号 {account.number}：{done.score_before} → {done.score_after}（{done.grade_after}），"
            f"{done.get_status_display()}" + (f"，可审批：{done.approvers}" if done.approvers else "")
        )

    def _budget(self, actor: User, year: int, export: str | None) -> None:
        from gridcare.keyaccounts.budget import budget_execution, execution_workbook

        rows = budget_execution(actor, year)
        if export:
            with open(export, "wb") as handle:
                handle.write(execution_workbook(rows, year))
            self.stdout.write(f"已导出 {len(rows)} 行预算执行到 {export}")
            return
        self.stdout.write(f"{year} 年销售费用预算执行（区域 / 责任人 / 预算 / 已用 / 剩余 / 执行率）")
        for r in rows:
            rate = "—" if r.execution is None else f"{r.execution}%"
            self.stdout.write(
                f"{r.region} / {r.owner} / {r.budget:,.2f} / {r.spent:,.2f} / {r.remaining:,.2f} / {rate}"
            )

    @staticmethod
    def _actor(username: str | None) -> User:
        if username is None:
            return system_actor()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"没有用户「{username}」。 (No such active user.)")
        return user
