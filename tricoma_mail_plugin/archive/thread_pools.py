"""Thread pools of the archive's background work (compression, the journal's own transaction,
object store uploads), each made at its first use in a process."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor


class ProcessPool:
    """A :class:`ThreadPoolExecutor` of ``workers`` threads, made when first asked for in each
    process: threads do not survive a fork, so a forked child (a gunicorn or queue worker) makes
    its own instead of submitting to its parent's dead threads."""

    def __init__(self, workers: int, name: str) -> None:
        self.workers, self.name = workers, name
        self._made: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool)
        self._lock = threading.Lock()

    def get(self) -> ThreadPoolExecutor:
        made = self._made
        if made is not None and made[0] == os.getpid():
            return made[1]
        with self._lock:
            if self._made is None or self._made[0] != os.getpid():
                self._made = (os.getpid(), ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.name))
            return self._made[1]
