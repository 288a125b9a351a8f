"""Celery task of the billing run: one chunk per task — the same chunk code as the inline and process executors."""

from __future__ import annotations

from gridcare.billing.executors import finish_if_complete, rate_one_chunk
from gridcare.billing.models import RunChunk
from gridcare.worker import app

RATE_CHUNK = "gridcare.billing.tasks.rate_chunk"


@app.task(name=RATE_CHUNK, acks_late=True, reject_on_worker_lost=True)
def rate_chunk(chunk_id: int) -> str:
    """Rate chunk ``chunk_id``; a chunk already done is left as it is (safe to deliver twice). The worker that
    rates a run's last chunk closes the run."""
    outcome = rate_one_chunk(chunk_id)
    run_id = RunChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    if run_id is not None:
        finish_if_complete(run_id)
    return outcome
