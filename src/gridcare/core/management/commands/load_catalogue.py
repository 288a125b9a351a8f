"""Load the position catalogue (岗位目录): permissions, limit types, positions, limits and KPIs."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gridcare.org.actions import do_load_catalogue
from gridcare.org.selectors import read_catalogue, system_actor


class Command(BaseCommand):
    help = "Create or update positions, permissions, authority limits and KPI definitions from the catalogue."

    def handle(self, *args: object, **options: object) -> None:
        counts = do_load_catalogue(system_actor(), read_catalogue())
        self.stdout.write(f"catalogue loaded: {counts}")
