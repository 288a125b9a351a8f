"""Group commit (:mod:`gridcare.core.gather`): items handed over together are served together, each caller gets
its own answer or its own error, a group that fails as a whole is answered ALONE, and nobody waits for ever."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from gridcare.core.gather import ALONE, Gatherer


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
