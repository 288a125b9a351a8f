"""Executors of a billing run — the same chunk function (:func:`rate_one_chunk`) everywhere:

- ``inline``: the chunks one after another in this process (the default; the embedded demo);
- ``process``: a local pool of worker processes, each with its own database connection;
- ``celery``: one Celery task per chunk on the Redis broker (eager without Redis), watched through the chunk rows.

A run is executed under the lock of its period (two runs of one period at once: the second is refused with
:class:`~gridcare.core.locks.JobBusy`), and is resumable: executing it again rates only the chunks not done.

Recovery (a process killed with SIGKILL at any moment): the chunk rows are the truth, messages are only hints. A
chunk is rated and marked done in one transaction under its own lock, so a killed chunk left nothing behind and is
still waiting, and a done chunk is never rated again (a second delivery finds it done, or busy under the lock of
the worker rating it and leaves it alone). A killed Celery worker's task is acknowledged late and goes back to the
queue; the process watching the run besides sends the waiting chunks again when nothing moved for
``STALL_SECONDS``. A killed watching process is replaced by ``gridcare billing run --resume RUN``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from gridcare.billing import actions, pool
from gridcare.billing.conf import conf
from gridcare.billing.models import BillingRun, RunChunk
from gridcare.core.access import get_in_scope
from gridcare.core.context import origin
from gridcare.core.errors import GridcareError
from gridcare.core.locks import JobBusy, job_lock

Progress = Callable[[BillingRun], None]


@dataclass(frozen=True)
class RunProgress:
    """How far a run is, from its counters: what the run page, the workbench and the CLI bar show."""

    chunks_done: int
    chunks: int
    bills: int
    not_billed: int
    percent: int
    #: bills per second since the run began (None before it began)
    rate: float | None
    running: bool


def run_progress(run: BillingRun) -> RunProgress:
    """The progress of ``run``: chunks done of all, bills so far and their rate per second."""
    percent = 100 if not run.chunks else min(100, run.chunks_done * 100 // run.chunks)
    rate = None
    if run.started_at is not None:
        end = run.finished_at or timezone.now()
        seconds = (end - run.started_at).total_seconds()
        rate = run.bills / seconds if seconds > 0 else None
    return RunProgress(
        run.chunks_done,
        run.chunks,
        run.bills,
        run.not_billed,
        percent,
        rate,
        run.status in (BillingRun.Status.PENDING, BillingRun.Status.RUNNING),
    )


def finish_if_complete(run_id: int) -> None:
    """Close a running run whose chunks are all done or failed — by the worker that rated its last chunk, so a
    run started from the screen (nobody waiting for it) is closed by its workers."""
    run = BillingRun.objects.filter(pk=run_id, status=BillingRun.Status.RUNNING).first()
    if run is None:
        return
    if RunChunk.objects.filter(
        run=run, status__in=[RunChunk.Status.PENDING, RunChunk.Status.RUNNING]
    ).exists():
        return
    actions.do_finish_run(run.created_by, run)


def rate_one_chunk(chunk_id: int) -> str:
    """Rate one chunk as the run's starter; a failure is recorded on the chunk (nothing of it was written)."""
    chunk = RunChunk.objects.select_related("run__created_by").get(pk=chunk_id)
    actor = chunk.run.created_by
    with origin(job_id=f"billing-run-{chunk.run_id}"):
        try:
            done = actions.do_rate_chunk(actor, chunk_id)
        except JobBusy:  # another worker is rating it (a second delivery): its outcome stands
            return "busy"
        except Exception as exc:  # noqa: BLE001 - any failure of a chunk is recorded on it, the run goes on
            message = exc.message if isinstance(exc, GridcareError) else f"{type(exc).__name__}: {exc}"
            actions.do_record_chunk_failure(actor, chunk_id, message)
            return f"failed: {message}"
    return f"done: {done.bills} bills"


def _pending(run: BillingRun) -> list[int]:
    return list(
        RunChunk.objects.filter(run=run)
        .exclude(status=RunChunk.Status.DONE)
        .order_by("number")
        .values_list("pk", flat=True)
    )


def _refresh(run: BillingRun, progress: Progress | None) -> None:
    run.refresh_from_db()
    if progress is not None:
        progress(run)


def execute(run: BillingRun, *, progress: Progress | None = None, wait: bool = True) -> BillingRun:
    """Rate every chunk of ``run`` not done yet with the run's executor, then close the run."""
    with job_lock(f"billing.period:{run.period}"):
        actor = run.created_by
        run = actions.do_begin_run(actor, run)
        pending = _pending(run)
        if run.executor == BillingRun.Executor.PROCESS:
            _process_pool(run, pending, progress)
        elif run.executor == BillingRun.Executor.CELERY:
            from gridcare.billing.tasks import rate_chunk

            for chunk_id in pending:
                rate_chunk.delay(chunk_id)
            if not wait:
                return run
            _watch(run, progress, resend=lambda ids: [rate_chunk.delay(i) for i in ids])
        else:
            for chunk_id in pending:
                rate_one_chunk(chunk_id)
                _refresh(run, progress)
        return actions.do_finish_run(actor, run)


def _process_pool(run: BillingRun, pending: list[int], progress: Progress | None) -> None:
    if not pending:
        return
    name = str(connection.settings_dict["NAME"])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=max(1, min(run.workers, len(pending))),
        mp_context=context,
        initializer=pool.worker_init,
        initargs=(name,),
    ) as executor:
        futures = [executor.submit(pool.work, chunk_id) for chunk_id in pending]
        for future in as_completed(futures):
            future.result()
            _refresh(run, progress)


def _watch(run: BillingRun, progress: Progress | None, resend: Callable[[list[int]], Any]) -> None:
    """Wait for the Celery workers: the chunk rows say how far they are. When no chunk finished for
    ``STALL_SECONDS`` (a lost message, a worker killed with its task), the waiting chunks are sent again."""
    pause = float(conf("POLL_SECONDS"))
    stall = float(conf("STALL_SECONDS"))
    moved_at, last = time.monotonic(), -1
    while True:
        left = list(
            RunChunk.objects.filter(run=run)
            .exclude(status__in=[RunChunk.Status.DONE, RunChunk.Status.FAILED])
            .order_by("number")
            .values_list("pk", flat=True)
        )
        _refresh(run, progress)  # after the chunks: the counters shown include every chunk found finished
        if not left:
            return
        finished = run.chunks - len(left)
        if finished != last:
            moved_at, last = time.monotonic(), finished
        elif time.monotonic() - moved_at >= stall:
            resend(left)
            moved_at = time.monotonic()
        time.sleep(pause)


def resume_run(actor: Any, pk: int, *, progress: Progress | None = None, wait: bool = True) -> BillingRun:
    """继续计算 — rate the chunks of run ``pk`` not done yet (after a kill, a crash or failed chunks): the screen's
    button and the API's ``resume``. A finished run has nothing left: it stays as it is (finished again). A run
    outside the caller's scope does not exist."""
    run = get_in_scope(BillingRun.objects.select_related("created_by"), actor, write=True, pk=pk)
    return execute(run, progress=progress, wait=wait)


def start_run(
    actor: Any, *, progress: Progress | None = None, wait: bool = True, **options: Any
) -> BillingRun:
    """Start a run (the audited action) and execute it — what the screen, the API, the CLI and the demo call."""
    run = actions.do_start_run(actor, **options)
    return execute(run, progress=progress, wait=wait)
