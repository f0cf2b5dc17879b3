"""Running one job of the ledger: claim it, call its task in a fresh app context, record the
outcome. The embedded runner and the RQ workers both call :func:`run_job`, so the task code is
the same in-process and on a queue. A delivery of a job that is running elsewhere, done or
failed does nothing (:func:`ledger.claim`)."""
from __future__ import annotations

import logging
import os
import socket
import threading

from flask import current_app

from .._state import mail_state
from . import ledger
from .server_slots import ServerBusy
from .tasks import find_task

log = logging.getLogger(__name__)

DUPLICATE = "duplicate delivery: the job is running elsewhere or has run"
DEFERRED = "deferred: its mail server had no free slot"


def process_name() -> str:
    """This process, as the ledger and the outbox leases name it (host and pid)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def worker_name() -> str:
    """This thread of this process: the holder of what the job it runs takes."""
    return f"{process_name()}:{threading.get_ident() % 1_000_000}"


def retry_delays() -> tuple[int, ...]:
    return tuple(int(delay) for delay in current_app.config["TRICOMA_MAIL_JOB_RETRY_DELAYS"])


def run_job(key: str, name: str, args: list | tuple = ()) -> str:
    """Run the ledger's job ``key`` (task ``name`` with ``args``) here, unless it is taken.
    :data:`DEFERRED` means the caller queues it again. An unexpected error marks it ``retry`` (while retries are left; the queue runs it again
    after a delay) or ``failed``, and is raised again for the queue."""
    app = current_app._get_current_object()
    with app.app_context():
        worker = worker_name()
        if not ledger.claim(key, worker):
            return DUPLICATE
        try:
            outcome = find_task(name).function(*args, worker=worker)
        except ServerBusy:
            ledger.put_back(key, worker)
            return DEFERRED
        except Exception as error:
            mail_state().db.session.rollback()  # the error may have left the transaction aborted
            tries = ledger.attempts(key)
            state = "retry" if tries <= len(retry_delays()) else "failed"
            log.exception("job %s (%s) stopped on an error; %s", key, name, state)
            ledger.finish(key, worker, state, f"{type(error).__name__}: {error}")
            raise
        ledger.finish(key, worker, "done", None if outcome in ("synced",) or outcome.startswith("sent") else outcome)
        return outcome
