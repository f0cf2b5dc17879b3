"""Checkpoints of SQLite's write-ahead log in a thread of their own, once the writing pauses.

In WAL mode a commit appends the pages it changed to the log; by default the commit that takes
the log past 1,000 pages then copies them into the database file (a checkpoint) before it
returns: with 16 KiB pages 16 MB and two fsyncs in whichever request or sync commits at that
moment. At the end of an initial sync of 10,000 messages that was 20-25 ms of its wall time and
up to 0.1 s of CPU (bench/sync_bench.py), and a web request unlucky enough to commit then
waited as long. SQLite's documentation names the remedy (wal.html, "Automatic Checkpoint"): turn
the automatic checkpoint down and run checkpoints from another thread.

Here every commit of a tuned engine marks its database file (after the DBAPI commit, the file as
SQLite opened it, whatever the URL's form), and a daemon thread checkpoints it
(PASSIVE: it never waits for nor blocks a reader or a writer) once no commit came for
``QUIET_SECONDS``, or after ``MAX_DEFER_SECONDS`` of steady commits. The connections keep an
automatic checkpoint as a backstop, at ``BACKSTOP_BYTES`` of log: a commit outside SQLAlchemy's
events, or a thread that cannot keep up, still bounds the log. When a process's last connection
closes, SQLite checkpoints and removes the log itself; a process that ends checkpoints what still
waits (atexit), as other processes may keep the file open. A checkpoint that another one kept
from starting (busy) is tried again soon; ``flush`` waits for the thread's checkpoint under way."""
from __future__ import annotations

import atexit
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


DONE, BUSY, PARTIAL = "done", "busy", "partial"  # what checkpoint() found


class _Checkpointer:
    """The process's checkpointing thread and the files waiting for it: path → (due, latest due)."""

    def __init__(self) -> None:
        lock = threading.Lock()
        self._changed = threading.Condition(lock)  # the thread waits here
        self._settled = threading.Condition(lock)  # flush() waits here for the thread's batch
        self._waiting: dict[str, tuple[float, float]] = {}
        self._running: list[str] = []  # the paths the thread checkpoints at the moment
        self._thread: threading.Thread | None = None

    def committed(self, path: str) -> None:
        now = time.monotonic()
        with self._changed:
            due, latest = self._waiting.get(path, (None, now + MAX_DEFER_SECONDS))
            new_due = min(now + QUIET_SECONDS, latest)
            self._waiting[path] = (new_due, latest)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
                self._thread.start()
            if due is None or new_due < due:  # the thread may sleep without a deadline, or a later one
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._running = []
                self._settled.notify_all()
                while True:
                    now = time.monotonic()
                    due = [path for path, (when, _latest) in self._waiting.items() if when <= now]
                    if due:
                        for path in due:
                            del self._waiting[path]
                        break
                    soonest = min((when for when, _latest in self._waiting.values()), default=None)
                    self._changed.wait(None if soonest is None else soonest - now)
                self._running = due
            for path in due:
                try:
                    found = checkpoint(path)
                except Exception:  # never let the thread die with files waiting
                    log.exception("checkpoint of %s", path)
                    found = DONE
                self._again(path, found)

    def _again(self, path: str, found: str) -> None:
        if found == DONE:
            return
        # BUSY: another connection (another process's thread, a backstop) checkpoints and may
        # have begun before this file's last commit: again soon. PARTIAL: readers of older
        # snapshots kept it from finishing.
        retry = time.monotonic() + (QUIET_SECONDS if found == BUSY else RETRY_SECONDS)
        with self._changed:
            self._waiting.setdefault(path, (retry, retry))
            self._changed.notify()

    def flush(self, busy_seconds: float = 5.0) -> None:
        """Checkpoint every waiting file now, in the calling thread, once the thread's own
        checkpoints under way have ended."""
        with self._changed:
            while self._running and self._thread is not None and self._thread.is_alive():
                self._settled.wait(1.0)
            paths, self._waiting = list(self._waiting), {}
        for path in paths:
            deadline = time.monotonic() + busy_seconds
            while (found := checkpoint(path)) == BUSY and time.monotonic() < deadline:
                time.sleep(0.01)
            self._again(path, found)  # readers of older snapshots, or busy for that long


def checkpoint(path: str) -> str:
    """A PASSIVE checkpoint of the database file ``path``: ``DONE`` (the whole log is in the file
    now, or there is nothing to do: no such file), ``BUSY`` (another checkpoint is running) or
    ``PARTIAL`` (readers of older snapshots kept it from copying the whole log)."""
    try:
        # mode=rw: a database removed meanwhile (a test's temporary file) is not made again.
        connection = sqlite3.connect(Path(path).as_uri() + "?mode=rw", uri=True, timeout=0)
    except sqlite3.Error:
        return DONE
    try:
        busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy:
            return BUSY
        return DONE if logged <= 0 or copied >= logged else PARTIAL
    except sqlite3.Error as exc:
        log.debug("checkpoint of %s failed: %s", path, exc)
        # SQLITE_BUSY / SQLITE_LOCKED (a recovery, a change of journal mode): again later.
        return BUSY if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (5, 6) else DONE
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
# A short-lived process (a CLI command) leaves no log behind even while other processes keep the
# file open (then its last connection does not checkpoint): the daemon thread ends unasked.
atexit.register(flush)
