"""Checkpoints of SQLite's write-ahead log in a thread of their own, once the writing pauses.

In WAL mode a commit appends the pages it changed to the log; by default the commit that takes
the log past 1,000 pages then copies them into the database file (a checkpoint) before it
returns: with 16 KiB pages 16 MB and two fsyncs in whichever request or sync commits at that
moment. At the end of an initial sync of 10,000 messages that was 20-25 ms of its wall time and
up to 0.1 s of CPU (bench/sync_bench.py), and a web request unlucky enough to commit then
waited as long. SQLite's documentation names the remedy (wal.html, "Automatic Checkpoint"): turn
the automatic checkpoint down and run checkpoints from another thread.

Here every commit of a tuned engine marks its database file, and a daemon thread checkpoints it
(PASSIVE: it never waits for nor blocks a reader or a writer) once no commit came for
``QUIET_SECONDS``, or after ``MAX_DEFER_SECONDS`` of steady commits. The connections keep an
automatic checkpoint as a backstop, at ``BACKSTOP_BYTES`` of log: a commit outside SQLAlchemy's
events, or a thread that cannot keep up, still bounds the log. When a process's last connection
closes, SQLite checkpoints and removes the log itself (a CLI command that ends right after its
commit leaves nothing behind)."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

QUIET_SECONDS = 0.2
MAX_DEFER_SECONDS = 2.0
RETRY_SECONDS = 2.0  # after a checkpoint that readers of older snapshots kept from finishing
BACKSTOP_BYTES = 64 * 1024 * 1024


def backstop_pages(page_size: int) -> int:
    """The ``wal_autocheckpoint`` (in pages) of a connection to a database of ``page_size``."""
    return max(1000, BACKSTOP_BYTES // page_size)


class _Checkpointer:
    """The process's checkpointing thread and the files waiting for it: path → (due, latest due)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: dict[str, tuple[float, float]] = {}
        self._thread: threading.Thread | None = None

    def committed(self, path: str) -> None:
        now = time.monotonic()
        with self._changed:
            _due, latest = self._waiting.get(path, (None, now + MAX_DEFER_SECONDS))
            self._waiting[path] = (min(now + QUIET_SECONDS, latest), latest)
            if _due is None:  # newly waiting: the thread may sleep without a deadline
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
                    self._thread.start()
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while True:
                    now = time.monotonic()
                    due = [path for path, (when, _latest) in self._waiting.items() if when <= now]
                    if due:
                        for path in due:
                            del self._waiting[path]
                        break
                    soonest = min((when for when, _latest in self._waiting.values()), default=None)
                    self._changed.wait(None if soonest is None else soonest - now)
            for path in due:
                if not checkpoint(path):
                    retry = time.monotonic() + RETRY_SECONDS
                    with self._changed:
                        self._waiting.setdefault(path, (retry, retry))

    def flush(self) -> None:
        """Checkpoint every waiting file now, in the calling thread."""
        with self._changed:
            paths, self._waiting = list(self._waiting), {}
        for path in paths:
            checkpoint(path)


def checkpoint(path: str) -> bool:
    """A PASSIVE checkpoint of the database file ``path``: whether the whole log is in the file
    now (or there is nothing to do: no such file, or another checkpoint is running)."""
    try:
        # mode=rw: a database removed meanwhile (a test's temporary file) is not made again.
        connection = sqlite3.connect(Path(path).as_uri() + "?mode=rw", uri=True, timeout=0)
    except sqlite3.Error:
        return True
    try:
        busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return bool(busy) or logged <= 0 or copied >= logged
    except sqlite3.Error as exc:
        log.debug("checkpoint of %s failed: %s", path, exc)
        return True
    finally:
        connection.close()


_checkpointer = _Checkpointer()


def committed(path: str) -> None:
    """Note a commit to the database file at ``path`` (absolute): checkpoint it once quiet."""
    _checkpointer.committed(path)


def flush() -> None:
    """Checkpoint now every database file that waits for it (benchmarks settle with it)."""
    _checkpointer.flush()


def _forget_in_child() -> None:
    global _checkpointer
    _checkpointer = _Checkpointer()  # a forked child has none of the parent's threads


os.register_at_fork(after_in_child=_forget_in_child)
