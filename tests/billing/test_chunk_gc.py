"""The cyclic collector is paused while a chunk is rated (core.collector) and the chunk's cycles are freed after it."""

from __future__ import annotations

import gc
import weakref

import pytest

from gridcare.core.collector import gc_paused


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_paused_in_the_block_and_the_block_cycles_collected_after() -> None:
    assert gc.isenabled()
    with gc_paused(collect_young=True):
        assert not gc.isenabled()
        ref = _cycle()
        assert ref() is not None
    assert gc.isenabled()
    assert ref() is None  # the cycle made in the block was freed by the collection after it


def test_enabled_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), gc_paused(collect_young=True):
        raise RuntimeError("chunk failed")
    assert gc.isenabled()


def test_nested_or_already_paused_left_to_the_outer_block() -> None:
    gc.disable()
    try:
        with gc_paused(collect_young=True):
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller paused it: the block does not enable it
    finally:
        gc.enable()
    with gc_paused(collect_young=True):
        with gc_paused(collect_young=True):
            pass
        assert not gc.isenabled()  # the inner block leaves the outer pause alone
    assert gc.isenabled()
