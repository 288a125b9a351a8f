"""Group commit (:mod:`gridcare.core.gather`): items handed over together are served together, each caller gets
its own answer or its own error, a group that fails as a whole is answered ALONE, and nobody waits for ever."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from gridcare.core.gather import ALONE, Alone, Gatherer, ServingThread
from tests.aio import run


class Served:
    """A ``serve`` that records its groups and takes a moment (so the next group gathers meanwhile)."""

    def __init__(self, pause: float = 0.02) -> None:
        self.groups: list[list[int]] = []
        self.pause = pause
        self.threads: set[str] = set()

    def __call__(self, items: list[int]) -> Sequence[int | BaseException]:
        self.groups.append(list(items))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.pause)
        return [ValueError(f"odd {i}") if i % 7 == 6 else i * 10 for i in items]


def submit_all(gatherer: Gatherer[int, int], count: int) -> dict[int, object]:
    answers: dict[int, object] = {}
    start = threading.Barrier(count)

    def one(i: int) -> None:
        start.wait()
        try:
            answers[i] = gatherer.submit(i)
        except ValueError as error:
            answers[i] = error

    threads = [threading.Thread(target=one, args=(i,), name=f"caller-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "a caller waits for ever"
    return answers


def test_items_arriving_together_are_served_in_groups_each_answered_once() -> None:
    served = Served()
    gatherer: Gatherer[int, int] = Gatherer(served, limit=8, name="test")
    answers = submit_all(gatherer, 30)
    assert sorted(i for group in served.groups for i in group) == list(range(30))  # each served exactly once
    assert max(len(group) for group in served.groups) > 1  # the waiting ones went together
    assert all(len(group) <= 8 for group in served.groups)  # never more than the limit
    for i in range(30):
        if i % 7 == 6:
            assert isinstance(answers[i], ValueError) and str(answers[i]) == f"odd {i}"  # only its own caller
        else:
            assert answers[i] == i * 10
    assert served.threads <= {f"caller-{i}" for i in range(30)}  # served by callers, no thread of its own


def test_a_lone_item_is_served_at_once_by_its_own_caller() -> None:
    served = Served(pause=0)
    gatherer: Gatherer[int, int] = Gatherer(served, limit=8, name="test")
    assert gatherer.submit(4) == 40
    assert gatherer.submit(5) == 50
    assert served.groups == [[4], [5]]


@pytest.mark.parametrize("failure", ["raises", "miscounts"])
def test_a_group_that_fails_as_a_whole_is_answered_alone_and_the_next_one_is_served(failure: str) -> None:
    calls: list[list[int]] = []

    def serve(items: list[int]) -> Sequence[int | BaseException]:
        calls.append(list(items))
        if len(calls) == 1:
            if failure == "raises":
                raise RuntimeError("the database went away")
            return []  # no answer for the item: a programming error, never trusted
        return [i for i in items]

    gatherer: Gatherer[int, int] = Gatherer(serve, limit=8, name="test")
    assert gatherer.submit(1) is ALONE
    assert gatherer.submit(2) == 2  # the lead was given back
    answers = submit_all(gatherer, 12)
    assert all(answers[i] in (i, ALONE) for i in range(12))


def test_an_interrupted_leader_leaves_nobody_waiting() -> None:
    """A BaseException in ``serve`` (the leader's thread being stopped) still answers its group ALONE."""
    stop = threading.Event()

    def serve(items: list[int]) -> Sequence[int | BaseException]:
        if not stop.is_set():
            stop.set()
            raise KeyboardInterrupt
        return items

    gatherer: Gatherer[int, int] = Gatherer(serve, limit=8, name="test")
    with pytest.raises(KeyboardInterrupt):
        gatherer.submit(1)
    assert gatherer.submit(3) == 3


# ------------------------------------------------------------------------- ServingThread: for an event loop


def serve_all(
    serving: ServingThread[int, int], items: Sequence[int], *, timeout: float = 10
) -> list[int | Alone]:
    """Submit ``items`` from one event loop at once; their answers, in order."""

    async def main() -> list[int | Alone]:
        return list(await asyncio.wait_for(asyncio.gather(*(serving.submit(i) for i in items)), timeout))

    return run(main())


class Tens(Served):
    """A lane's ``serve``: an answer for every item (ten times it), the groups and threads recorded."""

    def __call__(self, items: list[int]) -> Sequence[int | Alone]:  # type: ignore[override]
        self.groups.append(list(items))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.pause)
        return [i * 10 for i in items]


def test_a_serving_thread_serves_an_event_loops_items_in_groups_each_its_own_answer() -> None:
    served = Tens()
    between: list[str] = []
    serving: ServingThread[int, int] = ServingThread(
        served,
        limit=8,
        name="lane:test",
        between=lambda: between.append(threading.current_thread().name),
    )
    items = list(range(30))
    assert serve_all(serving, items) == [i * 10 for i in items]  # each future its own answer
    assert sorted(i for group in served.groups for i in group) == items  # each served exactly once
    assert all(group == sorted(group) for group in served.groups)  # a group in the order its items came
    assert all(len(group) <= 8 for group in served.groups)  # never more than the limit
    assert max(len(group) for group in served.groups) > 1  # the waiting ones went together
    own = {"lane:test"}
    assert served.threads <= own and threading.current_thread().name not in served.threads  # its own threads
    assert len(between) == 2 * len(served.groups) and set(between) <= own  # before and after each group
    assert serve_all(serving, [1, 2]) == [10, 20]  # the same threads serve the next loop's items


def test_a_serving_thread_answers_each_loop_its_own_items() -> None:
    served = Tens()
    serving: ServingThread[int, int] = ServingThread(served, limit=50, name="lane:loops")
    answers: dict[int, list[int | Alone]] = {}
    start = threading.Barrier(3)

    def loop(n: int) -> None:
        start.wait()
        answers[n] = serve_all(serving, [100 * n + i for i in range(10)])

    threads = [threading.Thread(target=loop, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "a loop waits for ever"
    assert answers == {n: [(100 * n + i) * 10 for i in range(10)] for n in (1, 2, 3)}


class Gate:
    """A ``serve`` whose first group waits until the test opens the gate (so the next group gathers meanwhile);
    the second group fails as a whole (``failure``); later groups are served."""

    def __init__(self, failure: str) -> None:
        self.failure = failure
        self.groups: list[list[int]] = []
        self.entered = threading.Event()
        self.open = threading.Event()

    def __call__(self, items: list[int]) -> Sequence[int | Alone]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.entered.set()
            assert self.open.wait(10)
        elif len(self.groups) == 2:
            if self.failure == "raises":
                raise RuntimeError("the database went away")
            return [i * 10 for i in items][:-1]  # one answer short: never trusted
        return [i * 10 for i in items]


@pytest.mark.parametrize("failure", ["raises", "miscounts"])
def test_a_group_that_fails_as_a_whole_is_answered_alone_and_later_groups_are_served(failure: str) -> None:
    serve = Gate(failure)
    serving: ServingThread[int, int] = ServingThread(serve, limit=8, name="lane:gate")

    async def main() -> tuple[int | Alone, list[int | Alone], list[int | Alone]]:
        first = serving.submit(0)
        assert await asyncio.to_thread(serve.entered.wait, 10)
        failing = [serving.submit(i) for i in range(1, 6)]  # gathered while the first group is served
        serve.open.set()
        answers = await asyncio.wait_for(asyncio.gather(first, *failing), 10)
        later = await asyncio.wait_for(asyncio.gather(*(serving.submit(i) for i in range(6, 9))), 10)
        return answers[0], list(answers[1:]), list(later)

    first, failed, later = run(main())
    assert first == 0
    assert serve.groups[:2] == [[0], [1, 2, 3, 4, 5]]
    assert failed == [ALONE] * 5  # every item of the failed group: done alone by its request
    assert later == [60, 70, 80]  # the thread serves on
    assert [i for group in serve.groups[2:] for i in group] == [6, 7, 8]


def test_a_serve_that_stops_its_thread_leaves_nobody_waiting() -> None:
    """A BaseException out of ``serve`` (as the Gatherer's interrupted leader): the group is answered ALONE and
    the items that come later are still served — no request of the lane waits for ever."""
    stop = threading.Event()

    def serve(items: list[int]) -> Sequence[int | Alone]:
        if not stop.is_set():
            stop.set()
            raise SystemExit("stopped")
        return [i * 10 for i in items]

    serving: ServingThread[int, int] = ServingThread(serve, limit=8, name="lane:stopped")
    assert serve_all(serving, [1]) == [ALONE]
    assert serve_all(serving, [2, 3], timeout=5) == [20, 30]


def test_a_small_group_waits_a_moment_for_more_items_and_no_longer() -> None:
    served = Tens(pause=0)
    serving: ServingThread[int, int] = ServingThread(served, limit=8, name="lane:gather", gather=3, wait=0.5)

    async def staggered() -> list[int | Alone]:
        first = serving.submit(1)
        await asyncio.sleep(0.1)  # (well within the wait: the first item is still waiting)
        rest = [serving.submit(2), serving.submit(3)]
        return list(await asyncio.wait_for(asyncio.gather(first, *rest), 5))

    assert run(staggered()) == [10, 20, 30]
    assert served.groups == [[1, 2, 3]]  # one group, not the first alone

    started = time.monotonic()
    assert serve_all(serving, [4]) == [40]  # nothing more comes: served once the wait is over
    waited = time.monotonic() - started
    assert 0.4 <= waited < 3, waited
    assert served.groups[-1] == [4]


def test_enough_items_are_served_at_once_without_waiting() -> None:
    served = Tens(pause=0)
    serving: ServingThread[int, int] = ServingThread(served, limit=8, name="lane:enough", gather=3, wait=5)
    started = time.monotonic()
    assert serve_all(serving, [1, 2, 3, 4]) == [10, 20, 30, 40]
    assert time.monotonic() - started < 2  # (not the 5 s wait)
    assert sorted(i for group in served.groups for i in group) == [1, 2, 3, 4]
