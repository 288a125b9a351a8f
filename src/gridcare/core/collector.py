"""Pausing Python's cyclic garbage collector around allocation-heavy work, without leaking the pause.

The collector's switch is process-wide: turning it off in one thread turns it off for every request the
server handles at the same time. :func:`gc_paused` is the one place that flips it. Pauses are counted under a
lock, so overlapping pauses from several threads nest: the collector is switched off by the first pause that
finds it on and restored by the last one to leave — in ``finally``, so an exception cannot leave it off — and
a collector that was already off (switched off by someone else) is left off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused(*, collect_young: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside the block; the previous state comes back when the last pause ends.

    For steps that create millions of objects and no cycles (reading, checking or writing a whole import
    file, rating a billing chunk): every few thousand allocations the collector would walk all of them again.
    Reference counting still frees everything meanwhile. ``collect_young``: when this pause switches the
    collector back on, one collection of the youngest generation — where everything made during the pause still
    is — frees the cycles the block left, so memory stays flat from one block to the next.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            enabled_again = _depth == 0 and _was_enabled
            if enabled_again:
                gc.enable()
        if enabled_again and collect_young:
            gc.collect(0)
