"""``gridcare keyaccounts <sub-command>`` — key accounts and market development.

    gridcare keyaccounts classify [--user U]             (re)classify key accounts by the rules (大客户认定)
    gridcare keyaccounts plan --year 2027 [--user U]     the annual visit plans (大客户回访计划)
    gridcare keyaccounts expire [--user U]               free idle prospect registrations (备案过期释放)

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
    help = "Key accounts: classify | plan --year YYYY | expire"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("subcommand", choices=["classify", "plan", "expire"])
        parser.add_argument("--year", type=int, default=None, help="回访计划年度 (plan)")
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
                else:
                    freed = do_expire_registrations(actor)
                    self.stdout.write(f"备案过期释放：{freed:,} 户")
        except JobBusy as busy:
            self.stdout.write(busy.message)
        except GridcareError as error:
            raise CommandError(error.message) from error

    @staticmethod
    def _actor(username: str | None) -> User:
        if username is None:
            return system_actor()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"没有用户「{username}」。 (No such active user.)")
        return user
