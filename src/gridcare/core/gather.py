"""Group commit (集中提交): the requests that arrive together, served by one of them in one go.

A busy write route spends most of its database time on per-statement and per-commit work that is the same for one
row or for fifty. A :class:`Gatherer` lets the threads of a server process hand their item over and wait; the first
thread to find nobody serving becomes the *leader* and serves everything waiting (up to ``limit`` items at a time)
with one call of ``serve`` — one transaction, set-based statements — until its own item is served; then the next
waiting thread takes the lead. Nothing waits on a timer: while one group is being served the next one gathers, so
the groups grow with the load and a lone request is served at once, alone.

``serve`` answers every item with a result or an exception; if it raises instead, every item of the group is
answered :data:`ALONE` — its caller then does the work the ordinary way, one item at a time (a group never fails an
item that would have succeeded alone). The leader serves on its own thread (its own database connection), so a
test in one transaction sees what the group wrote.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


class Alone:
    def __repr__(self) -> str:
        return "ALONE"


#: the answer to an item whose group failed as a whole: do it alone
ALONE = Alone()


class _Slot(Generic[T, R]):
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | Alone | None = None
        self.error: BaseException | None = None


class Gatherer(Generic[T, R]):
    """Serve items in groups: ``serve(items)`` → one result or exception per item, in the items' order."""

    def __init__(
        self, serve: Callable[[list[T]], Sequence[R | BaseException]], *, limit: int, name: str
    ) -> None:
        self._serve = serve
        self._limit = max(1, limit)
        self._name = name
        self._waiting: list[_Slot[T, R]] = []
        self._leading = False
        self._changed = threading.Condition()

    def submit(self, item: T) -> R | Alone:
        """The item's result (or :data:`ALONE`); the item's exception is raised here."""
        slot: _Slot[T, R] = _Slot(item)
        with self._changed:
            self._waiting.append(slot)
            while self._leading and not slot.done:
                self._changed.wait()
            if not slot.done:
                self._leading = True
        if not slot.done:
            try:
                while not slot.done:
                    with self._changed:
                        group, self._waiting = (
                            self._waiting[: self._limit],
                            self._waiting[self._limit :],
                        )
                    self._answer(group)
            finally:
                with self._changed:
                    self._leading = False
                    self._changed.notify_all()  # the served return; a waiting one takes the lead
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # (set with done)

    def _answer(self, group: list[_Slot[T, R]]) -> None:
        results: Sequence[R | BaseException | Alone] = [ALONE] * len(group)
        try:
            served = self._serve([slot.item for slot in group])
            if len(served) != len(group):
                raise RuntimeError(f"{self._name}: {len(served)} answers for {len(group)} items")
            results = served
        except Exception:  # each item is then done alone, where its own error (if any) reaches its caller
            log.exception("%s: a group of %d failed; each is done alone", self._name, len(group))
        finally:  # (even when the leader is interrupted: nobody waits for ever)
            self._settle(group, results)

    def _settle(self, group: list[_Slot[T, R]], results: Sequence[R | BaseException | Alone]) -> None:
        with self._changed:
            for slot, result in zip(group, results, strict=True):
                if isinstance(result, BaseException):
                    slot.error = result
                else:
                    slot.result = result
                slot.done = True
            self._changed.notify_all()


class ServingThread(Generic[T, R]):
    """Group commit for an event loop (:mod:`gridcare.api.lane`): the loop's requests hand their item over and await
    it; a thread of its own serves everything waiting (up to ``limit`` items) with one call of ``serve``, then
    the next group — as a :class:`Gatherer`'s leader, without a thread per waiting request (a second serving
    thread, serving two groups at once, measured no better: ``docs/ledger.md``). ``serve`` raising (or
    answering the wrong count) answers each item of its group :data:`ALONE`.

    The thread starts with the first item and serves on its own database connection; ``between()`` runs before
    and after each group (the connection's health and age checks, as a request's start and end do). Fewer than
    ``gather`` items waiting wait up to ``wait`` seconds for more: a group's fixed cost shared by more items
    (``docs/ledger.md``, "Channel API")."""

    def __init__(
        self,
        serve: Callable[[list[T]], Sequence[R | Alone]],
        *,
        limit: int,
        name: str,
        between: Callable[[], Any] = lambda: None,
        gather: int = 1,
        wait: float = 0.0,
    ) -> None:
        self._serve = serve
        self._limit = max(1, limit)
        self._gather = min(gather, self._limit)
        self._wait = wait
        self._name = name
        self._between = between
        self._waiting: list[tuple[T, asyncio.Future[R | Alone], asyncio.AbstractEventLoop]] = []
        self._arrived = threading.Condition()
        self._started = False

    def submit(self, item: T) -> asyncio.Future[R | Alone]:
        """The item's answer, to await in the running event loop."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R | Alone] = loop.create_future()
        with self._arrived:
            self._waiting.append((item, answer, loop))
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
            self._arrived.notify()
        return answer

    def _run(self) -> None:
        while True:
            with self._arrived:
                while not self._waiting:
                    self._arrived.wait()
                if len(self._waiting) < self._gather:
                    deadline = time.monotonic() + self._wait
                    while len(self._waiting) < self._gather and (left := deadline - time.monotonic()) > 0:
                        self._arrived.wait(left)
                group = self._waiting[: self._limit]
                del self._waiting[: self._limit]
            try:
                self._answer(group)
            except BaseException:  # (its group is answered ALONE: the thread goes on serving the next ones)
                log.exception("%s: a group was interrupted", self._name)

    def _answer(self, group: list[tuple[T, asyncio.Future[R | Alone], asyncio.AbstractEventLoop]]) -> None:
        results: Sequence[R | Alone] = [ALONE] * len(group)
        try:
            self._between()
            served = self._serve([item for item, _, _ in group])
            if len(served) != len(group):
                raise RuntimeError(f"{self._name}: {len(served)} answers for {len(group)} items")
            results = served
        except Exception:  # each item is then done alone by its request
            log.exception("%s: a group of %d failed; each is done alone", self._name, len(group))
        finally:
            try:
                self._between()
            except Exception:  # pragma: no cover - the connection's own clean-up; the answers stand
                log.exception("%s: clean-up after a group failed", self._name)
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
            for (_, answer, loop), result in zip(group, results, strict=True):
                by_loop.setdefault(loop, []).append((answer, result))
            for loop, settled in by_loop.items():  # (one wake-up of each loop for its whole group)
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for answer, result in settled:
        if not answer.done():  # (its request may have gone: the client disconnected)
            answer.set_result(result)
