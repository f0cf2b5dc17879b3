"""The jobs on a queue: RQ on Redis (why RQ: docs/deployment.md). The web processes put ledger
jobs on two queues, ``<prefix>-send`` (the outbox, taken first) and ``<prefix>-sync`` (syncs and
clean-ups); ``flask mail worker`` runs :func:`work` in any number of processes on any host.

RQ retries a job that raised after ``TRICOMA_MAIL_JOB_RETRY_DELAYS`` (its own scheduler, which
runs in one worker at a time, puts it back), stops one that runs past
``TRICOMA_MAIL_JOB_TIMEOUT``, and keeps failed jobs in its failed registry for the admin page.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry, SimpleWorker
from rq.exceptions import StopRequested
from rq.timeouts import TimerDeathPenalty

from .ledger import NewJob
from .redis_link import redis_connection
from .runner import DEFERRED, process_name, retry_delays, run_job
from .tasks import SEND_QUEUE, SYNC_QUEUE, find_task

QUEUE_ORDER = (SEND_QUEUE, SYNC_QUEUE)  # a worker takes the outbox before the syncs
RESULT_SECONDS = 600
FAILED_SECONDS = 7 * 24 * 3600


def queue_name(queue: str, app: Flask | None = None) -> str:
    return f"{(app or current_app).config['TRICOMA_MAIL_QUEUE_PREFIX']}-{queue}"


def _queue(queue: str, connection: Redis) -> Queue:
    return Queue(queue_name(queue), connection=connection)


def perform(key: str, name: str, args: list) -> str:
    """The function RQ calls: run the ledger's job here, and queue it again (at the back) when
    its mail server had no free slot."""
    outcome = run_job(key, name, args)
    if outcome == DEFERRED:
        enqueue([NewJob(key, name, tuple(args))])
    return outcome


def enqueue(jobs: Sequence[NewJob]) -> None:
    """Put ledger jobs on their queues, in order, in one round trip (a transaction: all or none).
    A caller that has just recorded the jobs forgets their rows when Redis refuses them
    (``ledger.forget_unqueued``); a job going back to its queue keeps its row."""
    if not jobs:
        return
    connection = redis_connection()
    delays = list(retry_delays())
    timeout = int(current_app.config["TRICOMA_MAIL_JOB_TIMEOUT"])
    queues = {name: _queue(name, connection) for name in QUEUE_ORDER}
    with connection.pipeline() as pipe:
        for job in jobs:
            queues[find_task(job.name).queue].enqueue_call(
                perform, args=(job.key, job.name, list(job.args)), timeout=timeout,
                result_ttl=RESULT_SECONDS, failure_ttl=FAILED_SECONDS, description=job.key,
                retry=Retry(max=len(delays), interval=delays) if delays else None, pipeline=pipe)
        pipe.execute()


class ThreadWorker(SimpleWorker):
    """An RQ worker that runs in a thread of its own, beside others in one process, so that one
    process runs several jobs at once (syncs wait on the network most of the time). Job time
    limits use a timer instead of SIGALRM, and the process's main thread, not the worker, takes
    SIGTERM and asks each worker to stop after its job (:meth:`stop_after_job`)."""

    death_penalty_class = TimerDeathPenalty
    IDLE_CHECK_SECONDS = 2

    def _install_signal_handlers(self) -> None:
        pass

    # RQ's remote commands (`rq shutdown`, a pub/sub thread per worker) are not used: SIGTERM to
    # the process stops it, and that thread's join can hang at the end with redis-py 8.
    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass

    def stop_after_job(self) -> None:
        self._stop_requested = True

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        # RQ waits on the queues until a job comes; wake up now and then to see a stop request.
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=self.IDLE_CHECK_SECONDS)
            if result is not None or timeout is None:
                return result
        raise StopRequested()


def workers(count: int, queues: Sequence[str] = QUEUE_ORDER) -> list[ThreadWorker]:
    """``count`` workers of ``queues`` for this process, each with a Redis connection of its own
    (a worker blocks on the queue longer than the app's connection allows)."""
    url = current_app.config["TRICOMA_MAIL_REDIS_URL"]
    made = []
    for number in range(count):
        connection = Redis.from_url(url)
        made.append(ThreadWorker([_queue(name, connection) for name in queues], connection=connection,
                                 name=f"{process_name()}-{number}".replace(":", "-")))
    return made


def work(queues: Sequence[str] = QUEUE_ORDER, burst: bool = False, with_scheduler: bool = True) -> bool:
    """Run jobs of ``queues`` in this thread until the queues are empty (``burst``) or a stop is
    asked for; RQ's own scheduler (retries after their delay) with ``with_scheduler``."""
    (worker,) = workers(1, queues)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="WARNING")


@dataclass(frozen=True)
class QueueState:
    """What one queue holds now, for the admin page."""

    name: str
    queued: int
    running: int
    retrying: int
    failed: int
    failures: list[tuple[str, str]]  # (ledger key, last line of the error), newest first


def overview(failures: int = 20) -> list[QueueState]:
    connection = redis_connection()
    states = []
    for name in QUEUE_ORDER:
        queue = _queue(name, connection)
        failed = queue.failed_job_registry
        shown = []
        for job in queue.job_class.fetch_many(failed.get_job_ids(0, failures - 1, desc=True), connection=connection):
            if job is not None:
                lines = (job.exc_info or "").strip().splitlines()
                shown.append((job.description or job.id, lines[-1] if lines else ""))
        states.append(QueueState(queue.name, queue.count, queue.started_job_registry.count,
                                 queue.scheduled_job_registry.count, failed.count, shown))
    return states
