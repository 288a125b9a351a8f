"""Entry points of the process-pool executor's workers. Imported by a freshly spawned interpreter before Django
is set up, so nothing here imports models at module level."""

from __future__ import annotations

import os


def worker_init(database_name: str) -> None:
    """A pool worker (spawned, not forked: no inherited connection) sets Django up on the parent's database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = database_name
    import django

    django.setup()


def work(chunk_id: int) -> str:
    from gridcare.billing.executors import rate_one_chunk

    return rate_one_chunk(chunk_id)
