"""The cyclic collector is paused while a chunk is rated and the chunk's cycles are freed after it."""

from __future__ import annotations

import gc
import weakref

import pytest

from gridcare.billing.memory import cyclic_gc_paused


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_paused_in_the_block_and_the_block_cycles_collected_after() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        ref = _cycle()
        assert ref() is not None
    assert gc.isenabled()
    assert ref() is None  # the cycle made in the block was freed by the collection after it


def test_enabled_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("chunk failed")
    assert gc.isenabled()


def test_nested_or_already_paused_left_to_the_outer_block() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller paused it: the block does not enable it
    finally:
        gc.enable()
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # the inner block leaves the outer pause alone
    assert gc.isenabled()
