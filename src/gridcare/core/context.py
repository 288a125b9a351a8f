"""Where a write comes from: the request id of a web/API call or the job id of a batch job.

Stored in a context variable so the audit writer can stamp every row without passing ids through every call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    request_id: str = ""
    job_id: str = ""


_NO_ORIGIN = Origin()
_origin: ContextVar[Origin | None] = ContextVar("gridcare_origin", default=None)


def current_origin() -> Origin:
    return _origin.get() or _NO_ORIGIN


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def origin(request_id: str = "", job_id: str = "") -> Iterator[Origin]:
    """Run a block of work as coming from this request or job."""
    value = Origin(request_id=request_id, job_id=job_id)
    token = _origin.set(value)
    try:
        yield value
    finally:
        _origin.reset(token)
