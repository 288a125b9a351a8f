"""``gridcare load_service_defaults`` — create or update the default SLA policies and dispatch rules."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gridcare.service.defaults import load_defaults


class Command(BaseCommand):
    help = "Load the service desk's default SLA policies (docs/rules.md §3) and dispatch rules (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        counts = load_defaults()
        self.stdout.write(
            f"service defaults: {counts['sla_policies']} SLA policies, {counts['dispatch_rules']} dispatch rules"
        )
