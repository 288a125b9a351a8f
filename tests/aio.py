"""Running a coroutine to its end from a test, whatever runs in the test's thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright (sync API) keeps an event loop running
    in the main thread for the whole session, where ``asyncio.run`` refuses to start another."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def main() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=main, name="test-event-loop")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
