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
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block; the previous state comes back when the last pause ends.

    For steps that create millions of objects and no cycles (reading, checking or writing a whole import
    file): every few thousand allocations the collector would walk all of them again. Reference counting still
    frees everything meanwhile.
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
            if _depth == 0 and _was_enabled:
                gc.enable()
