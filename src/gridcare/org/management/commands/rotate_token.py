"""``gridcare rotate_token USERNAME`` — issue a new API token for an account (revoking its old one) and print it once.

For integration accounts such as the head-end system's (position ``headend_integration``), which have no screens:
an administrator runs this on the server and hands the key to the head-end's operator. Audited as the system
account (``org.rotate_token``); the key itself is never stored in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.context import origin
from gridcare.org.actions import do_rotate_api_token
from gridcare.org.models import User
from gridcare.org.selectors import system_actor


class Command(BaseCommand):
    help = "Issue a new API token for USERNAME (the old one stops working at once) and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        staff = User.objects.filter(username=options["username"]).first()
        if staff is None:
            raise CommandError(f"找不到用户「{options['username']}」。 (No such user.)")
        with origin(job_id="rotate_token"):
            key = do_rotate_api_token(system_actor(), staff)
        self.stdout.write(key)
