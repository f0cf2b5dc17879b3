"""CPython's cyclic garbage collector paused while a sync stores thousands of new messages.

A big sync makes hundreds of thousands of short-lived containers (answers, summaries, rows). Each
few hundred of them start an automatic collection of the young objects, and now and then one of
every object in the process: in a web or queue worker that is the whole application's heap, a
quarter of a second, a quarter of an initial sync of 10,000 messages, at a moment that depends on
what ran before. Reference counting frees what a sync makes either way (its values hold no
cycles); what others make in cycles meanwhile is collected by :func:`collect_young_when_due`,
which the sync calls after each batch, and by the automatic collections again once the pause ends.
"""
from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds between two collections of the younger generations during a pause.
YOUNG_COLLECTION_SECONDS = 0.5

_lock = threading.Lock()
_pauses = 0  # blocks inside collection_paused(), in every thread
_was_enabled = False  # whether the collector ran automatically before the first of them
_last_young = 0.0  # time.monotonic() of the last collection collect_young_when_due() made


@contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic collection in this process while the block runs. Process-wide, like the
    collector: blocks of several threads (two syncs) share one pause, which ends with the last
    of them; a collector that was switched off before stays off (one switched off during the
    pause, by anyone, is on again after it)."""
    global _pauses, _was_enabled, _last_young
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            _last_young = time.monotonic()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def collect_young_when_due() -> None:
    """During a pause, what the automatic collections of the two younger generations would do,
    at most every ``YOUNG_COLLECTION_SECONDS``: frees the cycles made since (by any thread: the
    pause is the web process's too), however slowly a sync's batches arrive; only the oldest
    generation, the application's own objects, waits for the end of the pause."""
    global _last_young
    now = time.monotonic()
    if now - _last_young >= YOUNG_COLLECTION_SECONDS:
        _last_young = now
        gc.collect(1)


def _after_fork_in_child() -> None:
    # The child runs none of the parent's syncs: no pause of theirs may keep its collector off.
    global _lock, _pauses
    _lock = threading.Lock()
    if _pauses:
        _pauses = 0
        if _was_enabled:
            gc.enable()


os.register_at_fork(after_in_child=_after_fork_in_child)
