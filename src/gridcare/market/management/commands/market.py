"""``gridcare market <sub-command>`` — market research, satisfaction surveys, the contractor register.

    gridcare market survey-sample MY00000001 [--user U]   draw a survey's sample (抽样) and print it per unit
    gridcare market survey-results MY00000001             the results by unit (response rate, coverage, scores)
    gridcare market contractors --kind construction [--on 2026-12-03]
                                                          the units that may be selected on the day (资质有效)
    gridcare market expiring                              qualifications about to expire (资质到期预警)

Without ``--user`` the command acts as the system account.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridcare.core.context import origin
from gridcare.core.errors import GridcareError
from gridcare.market.actions import do_draw_sample
from gridcare.market.models import ContractorKind, Survey
from gridcare.market.selectors import (
    expiring_qualifications,
    selectable_contractors,
    survey_results,
    valid_qualification,
)
from gridcare.org.models import User
from gridcare.org.selectors import system_actor


class Command(BaseCommand):
    help = "Market: survey-sample NUMBER | survey-results NUMBER | contractors --kind K [--on D] | expiring"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "subcommand", choices=["survey-sample", "survey-results", "contractors", "expiring"]
        )
        parser.add_argument("number", nargs="?", default=None, help="调查编号 (survey number)")
        parser.add_argument("--kind", choices=list(ContractorKind.values), default=None)
        parser.add_argument("--on", default=None, help="日期 YYYY-MM-DD (默认今天)")
        parser.add_argument("--user", default=None, help="以该用户身份执行 (act as this user)")

    def handle(self, *args: Any, **options: Any) -> None:
        sub = options["subcommand"]
        try:
            if sub == "survey-sample":
                self._sample(self._actor(options["user"]), self._survey(options["number"]))
            elif sub == "survey-results":
                self._results(self._survey(options["number"]))
            elif sub == "contractors":
                self._contractors(options["kind"], options["on"])
            else:
                self._expiring()
        except GridcareError as error:
            raise CommandError(error.message) from error

    def _sample(self, actor: User, survey: Survey) -> None:
        with origin(job_id=f"market-sample-{survey.number}-{int(timezone.now().timestamp())}"):
            drawn = do_draw_sample(actor, survey)
        results = survey_results(drawn)
        self.stdout.write(
            f"{drawn.number} {drawn.title}：范围内客户 {drawn.in_scope:,} 户，抽取 {results.total.sampled:,} 户"
            f"（随机种子 {drawn.seed}）"
        )
        for unit in results.units:
            self.stdout.write(f"  {unit.unit_name}：范围内 {unit.in_scope:,} 户，抽取 {unit.sampled:,} 户")

    def _results(self, survey: Survey) -> None:
        results = survey_results(survey)
        ratings = [q for q in results.questions if q.question.kind == "rating"]
        self.stdout.write(f"{survey.number} {survey.title}（{survey.get_status_display()}）")
        for unit in [*results.units, results.total]:
            scores = "，".join(
                f"第{q.question.position}题 {avg if avg is not None else '—'}"
                for q, avg in zip(ratings, unit.averages, strict=True)
            )
            self.stdout.write(
                f"  {unit.unit_name}：范围内 {unit.in_scope:,}，抽取 {unit.sampled:,}，接通 {unit.reached:,}，"
                f"拒访 {unit.refused:,}，未接通 {unit.unreachable:,}，应答率 {_pct(unit.response_rate)}，"
                f"覆盖率 {_pct(unit.coverage)}{'；' + scores if scores else ''}"
            )

    def _contractors(self, kind: str | None, on: str | None) -> None:
        if kind is None:
            raise CommandError(
                "请用 --kind construction 或 --kind design 指定单位类别。 (--kind is required.)"
            )
        try:
            day = dt.date.fromisoformat(on) if on else timezone.localdate()
        except ValueError:
            raise CommandError(f"日期「{on}」格式应为 YYYY-MM-DD。 (Not a date.)") from None
        rows = list(selectable_contractors(kind, day).order_by("name"))
        self.stdout.write(f"{day} 可选用的{ContractorKind(kind).label}：{len(rows)} 家")
        for contractor in rows:
            q = valid_qualification(contractor, kind, day)
            assert q is not None
            self.stdout.write(f"  {contractor.name}：{q}，有效期至 {q.valid_to}")

    def _expiring(self) -> None:
        rows = list(expiring_qualifications(timezone.localdate()).order_by("valid_to"))
        self.stdout.write(f"即将到期的资质：{len(rows)} 项")
        for q in rows:
            self.stdout.write(f"  {q.contractor.name}：{q}，{q.valid_to} 到期")

    @staticmethod
    def _survey(number: str | None) -> Survey:
        if not number:
            raise CommandError("请给出调查编号。 (The survey number is required.)")
        found = Survey.objects.filter(number=number).first()
        if found is None:
            raise CommandError(f"没有编号为「{number}」的调查。 (No such survey.)")
        return found

    @staticmethod
    def _actor(username: str | None) -> User:
        if username is None:
            return system_actor()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"没有用户「{username}」。 (No such active user.)")
        return user


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value}%"
