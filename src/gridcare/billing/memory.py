"""The cyclic garbage collector paused while a chunk is rated.

A chunk allocates a few hundred thousand short-lived objects (rows, decimals, usages, bill and line rows); each
allocation burst makes the cyclic collector run, and its older generations walk the whole heap of the process
(Django, the catalogue, the app's modules) — measured at 35–45 % of a chunk's client CPU. Nearly all of a chunk's
garbage is freed by reference counting anyway. So the collector is paused for the chunk and, after it, one
collection of the youngest generation — where every object made during the pause still is — frees whatever
cycles the chunk left: memory stays flat from chunk to chunk (measured by ``benchmarks/billing_run.py``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block, then collect what the block left (generation 0)."""
    if not gc.isenabled():  # nested, or paused by the caller: leave it to the outer block
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)
