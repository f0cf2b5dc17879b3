"""A queue worker process (``flask mail worker`` with a broker): ``threads`` RQ workers run jobs
side by side in threads of this process (a sync mostly waits on the network), and a scheduler
thread queues the periodic jobs of each new period (once per period over every worker:
:mod:`.schedule`). One of the threads also runs RQ's scheduler, which puts retries back on the
queue when their delay is over.

SIGTERM (or Ctrl-C) ends it gracefully: no new job starts, the jobs under way finish, then what
this process still holds in the ledger is handed back. A second SIGTERM stops at once (the
ledger's and the outbox's leases run out and others take over).
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence

from flask import Flask
from redis.exceptions import RedisError

from . import ledger, rq_queue
from .redis_link import redis_connection
from .runner import process_name
from .schedule import Scheduler

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
REDIS_WARNING_SECONDS = 60.0  # while Redis is down, a warning at most this often


def _schedule_until(app: Flask, stop: threading.Event) -> None:
    scheduler = Scheduler()
    redis_down, warned_at = False, 0.0
    while not stop.is_set():
        try:
            with app.app_context():
                # while Redis is down, ask it first: recording a period's jobs only to forget them
                # again would insert and delete every mailbox's row each second
                if not redis_down or redis_connection().ping():
                    schedule_once(scheduler)
                redis_down = False
        except RedisError as error:
            redis_down = True
            if time.monotonic() - warned_at > REDIS_WARNING_SECONDS:
                warned_at = time.monotonic()
                log.warning("Redis refuses the periodic jobs (%s); the scheduler tries again", error)
        except Exception:  # a failing database: try again next tick
            log.exception("the job scheduler failed; it tries again")
        stop.wait(TICK_SECONDS)


def schedule_once(scheduler: Scheduler) -> None:
    """One tick: queue the periodic jobs whose period began. When Redis refuses them, their
    ledger rows are forgotten (no phantom "queued" job) and their period is tried again at the
    next tick; the error is raised."""
    due = scheduler.due()
    try:
        rq_queue.enqueue(due)
    except RedisError:
        ledger.forget_unqueued([job.key for job in due])
        scheduler.look_again(due)
        raise


class _StopNow(Exception):
    """The second SIGTERM: leave without waiting for the jobs under way."""


def run_worker(app: Flask, queues: Sequence[str] = rq_queue.QUEUE_ORDER, burst: bool = False,
               schedule: bool = True, threads: int = 4) -> None:
    """Work (and schedule) until SIGTERM or, with ``burst``, until the queues are empty."""
    stop = threading.Event()
    with app.app_context():
        workers = rq_queue.workers(max(1, threads), queues)

    def run(worker: rq_queue.ThreadWorker, with_scheduler: bool) -> None:
        with app.app_context():
            worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="WARNING")

    def asked_to_stop(signum, frame) -> None:
        if stop.is_set():
            raise _StopNow()
        stop.set()
        for worker in workers:
            worker.stop_after_job()

    previous = {sig: signal.signal(sig, asked_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    running = [threading.Thread(target=run, args=(worker, number == 0 and not burst), daemon=True,
                                name=f"tricoma-mail-worker-{number}") for number, worker in enumerate(workers)]
    if schedule and not burst:
        running.append(threading.Thread(target=_schedule_until, args=(app, stop), daemon=True,
                                        name="tricoma-mail-schedule"))
    for thread in running:
        thread.start()
    try:
        for thread in running[:len(workers)]:
            while thread.is_alive():
                thread.join(0.5)
    except _StopNow:
        log.warning("stopping at once: the jobs under way are handed back")
    finally:
        stop.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with app.app_context():
            ledger.hand_back(process_name())
