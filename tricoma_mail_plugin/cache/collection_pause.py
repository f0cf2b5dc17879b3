"""CPython's cyclic garbage collector paused while a sync stores thousands of new messages.

A big sync makes hundreds of thousands of short-lived containers (answers, summaries, rows). Each
few hundred of them start an automatic collection of the young objects, and now and then one of
every object in the process: in a web or queue worker that is the whole application's heap, a
quarter of a second, a quarter of an initial sync of 10,000 messages, at a moment that depends on
what ran before. Reference counting frees what a sync makes either way (its values hold no
cycles); what others make in cycles meanwhile is collected by the young collection
:func:`collect_young` runs every few thousand messages, and by the automatic ones again once the
pause ends.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # blocks inside collection_paused(), in every thread
_was_enabled = False  # whether the collector ran automatically before the first of them


@contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic collection in this process while the block runs. Process-wide, like the
    collector: blocks of several threads (two syncs) share one pause, which ends with the last
    of them; a collector that was switched off before stays off."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def collect_young() -> None:
    """During a pause, what the automatic collections of the two younger generations would do:
    frees the cycles made since (by any thread: the pause is the web process's too), so a long
    sync does not let them pile up; only the oldest generation, the application's own objects,
    waits for the end of the pause."""
    gc.collect(1)
