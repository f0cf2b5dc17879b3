"""The embedded default (no broker): the jobs run in threads of the web process, as they always
did, through the same ledger and task code as on a queue. One thread per queue (the outbox, the
syncs), a scheduler thread that looks for new periods every second, and timers for retries.

:meth:`EmbeddedRunner.stop` is the graceful part of a shutdown: no new job starts, the jobs under
way get ``wait`` seconds to finish, and what is left is handed back at once (ledger rows, the
sync lease of a sync still running, outbox items still leased) instead of when leases run out.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from flask import Flask

from ..cache.lease import release_sync_lease
from ..sending.outbox import hand_back_leases
from . import ledger
from .ledger import NewJob
from .runner import DEFERRED, process_name, retry_delays, run_job
from .schedule import Scheduler
from .tasks import SEND_QUEUE, SYNC_QUEUE, find_task

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
DEFER_SECONDS = 0.5  # a job whose mail server had no free slot runs again after this


class EmbeddedRunner:
    def __init__(self, app: Flask, schedule: bool = True) -> None:
        self._app = app
        self._schedule = schedule
        self._stop = threading.Event()
        self._queues: dict[str, queue.Queue[NewJob]] = {SEND_QUEUE: queue.Queue(), SYNC_QUEUE: queue.Queue()}
        self._running: dict[str, NewJob] = {}  # queue -> the job its thread runs now
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> EmbeddedRunner:
        for name in self._queues:
            self._threads.append(threading.Thread(target=self._work, args=(name,), daemon=True,
                                                  name=f"tricoma-mail-{name}"))
        if self._schedule:
            self._threads.append(threading.Thread(target=self._tick, daemon=True, name="tricoma-mail-schedule"))
        for thread in self._threads:
            thread.start()
        return self

    def put(self, job: NewJob, delay: float = 0) -> None:
        """Run ``job`` (already in the ledger) in this process, after ``delay`` seconds."""
        with self._app.app_context():
            target = self._queues[find_task(job.name).queue]
        if delay:
            timer = threading.Timer(delay, target.put, args=(job,))
            timer.daemon = True
            timer.start()
        else:
            target.put(job)

    def _tick(self) -> None:
        scheduler = Scheduler()
        while not self._stop.is_set():
            try:
                with self._app.app_context():
                    for job in scheduler.due():
                        self.put(job)
            except Exception:  # the scheduler must survive a failing database
                log.exception("the job scheduler failed; it tries again")
            self._stop.wait(TICK_SECONDS)

    def _work(self, name: str) -> None:
        jobs = self._queues[name]
        while not self._stop.is_set():
            try:
                job = jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            if self._stop.is_set():
                jobs.put(job)  # handed back by stop()
                break
            with self._lock:
                self._running[name] = job
            try:
                with self._app.app_context():
                    if run_job(job.key, job.name, job.args) == DEFERRED:
                        self.put(job, delay=DEFER_SECONDS)
            except Exception:  # noqa: BLE001 - logged by run_job; retried below if it may be
                self._retry_later(job)
            finally:
                with self._lock:
                    self._running.pop(name, None)

    def _retry_later(self, job: NewJob) -> None:
        with self._app.app_context():
            tries = ledger.attempts(job.key)
            delays = retry_delays()
        if 0 < tries <= len(delays):
            self.put(job, delay=delays[tries - 1])

    def stop(self, wait: float = 10.0) -> int:
        """Start no new job, let those under way finish for up to ``wait`` seconds, and hand
        back what is left. Returns how many ledger rows, sync leases and outbox items were
        handed back."""
        self._stop.set()
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            still_running = list(self._running.values())
        left = [job.key for jobs in self._queues.values() for job in list(jobs.queue)]
        process = process_name()
        with self._app.app_context():
            handed = ledger.hand_back(process, left)
            for job in still_running:
                if job.name == "sync" and job.args:
                    release_sync_lease(job.args[0])
                    handed += 1
            handed += hand_back_leases(process)
        return handed
