"""The Celery application of gridcare (``celery -A gridcare.worker worker``): configured from Django settings
(``CELERY_*``: broker on ``REDIS_URL``, eager in tests and without Redis), tasks found in the apps' ``tasks.py``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")

app = Celery("gridcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    ["gridcare.billing", "gridcare.keyaccounts", "gridcare.ledger", "gridcare.readings", "gridcare.service"]
)
