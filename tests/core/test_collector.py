"""The garbage-collector pause used by imports is confined: it always gives the collector back as it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from gridcare.core.collector import gc_paused
from gridcare.customers import importing


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_comes_back_after_an_import_that_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # given an import whose reading step blows up half-way
    def explode(importer: object, data: bytes) -> None:
        assert not gc.isenabled()
        raise RuntimeError("boom")

    monkeypatch.setattr(importing, "_read_rows", explode)
    importer = importing.importer_for("customers", None)
    # when the file is read
    with pytest.raises(RuntimeError):
        importing.read_rows(importer, b"not read")
    # then the collector runs again
    assert gc.isenabled()


def test_a_collector_switched_off_elsewhere_stays_off() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads_nest() -> None:
    # given two imports in two request threads: A pauses, then B, then A ends while B is still working
    a_inside, b_inside, a_done, b_may_end = (threading.Event() for _ in range(4))
    seen_by_b: list[bool] = []

    def import_a() -> None:
        with gc_paused():
            a_inside.set()
            b_inside.wait(5)
        a_done.set()

    def import_b() -> None:
        a_inside.wait(5)
        with gc_paused():
            b_inside.set()
            a_done.wait(5)
            seen_by_b.append(gc.isenabled())
            b_may_end.wait(5)

    threads = [threading.Thread(target=import_a), threading.Thread(target=import_b)]
    for thread in threads:
        thread.start()
    a_done.wait(5)
    # then A's end does not switch the collector on under B
    for _ in range(500):
        if seen_by_b:
            break
        threading.Event().wait(0.01)
    assert seen_by_b == [False]
    assert not gc.isenabled()
    # and the last pause to end switches it back on
    b_may_end.set()
    for thread in threads:
        thread.join(5)
    assert gc.isenabled()


def test_nothing_else_in_the_code_flips_the_collector() -> None:
    """gc.disable()/gc.enable() live in one place only."""
    from pathlib import Path

    import gridcare

    root = Path(gridcare.__file__).parent
    flippers = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if "gc.disable()" in path.read_text(encoding="utf-8")
        or "gc.enable()" in path.read_text(encoding="utf-8")
    ]
    assert flippers == ["core/collector.py"]
