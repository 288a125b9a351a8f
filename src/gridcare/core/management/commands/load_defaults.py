"""``gridcare load_defaults`` — load every shipped default (idempotent): see :mod:`gridcare.core.shipped`."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gridcare.core.context import origin
from gridcare.core.shipped import load_all


class Command(BaseCommand):
    help = (
        "Create or update all shipped defaults: position catalogue, SLA policies, dispatch rules, tariffs "
        "(idempotent; run after every migrate)."
    )

    def handle(self, *args: object, **options: object) -> None:
        verbosity = int(str(options.get("verbosity", 1)))
        with origin(job_id="load_defaults"):
            for line in load_all():
                if verbosity:
                    self.stdout.write(line)
