"""Fails a test that leaves an app's background work running: an embedded job runner's threads or
an embedded v2 push watcher outlive the test's app and its tables, then sync, send and deliver
events for the next test's rows (its mailbox has the same id), with the old app's plugins."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# the threads of EmbeddedRunner (one per queue and the scheduler) and of the v2 push watcher
WATCHED = ("tricoma-mail-schedule", "tricoma-mail-sync", "tricoma-mail-send", "tricoma-mail-v2-push")
GRACE_SECONDS = 3.0  # a stopped runner's thread may still be finishing a job


def _background_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name in WATCHED}


@pytest.fixture(autouse=True)
def no_background_work_left() -> Iterator[None]:
    before = _background_threads()
    yield
    deadline = time.monotonic() + GRACE_SECONDS
    while (left := _background_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"the test left background work running: {sorted(thread.name for thread in left)}"
