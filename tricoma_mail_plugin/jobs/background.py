"""Background work of the host app: where jobs run and how they start and stop.

* Embedded default (no ``TRICOMA_MAIL_REDIS_URL``): each web process runs the jobs in its own
  threads (:mod:`.embedded`); the ledger makes each periodic job run once per period over all of
  them, sync leases keep one sync per mailbox and outbox leases send each mail once.
* With a broker: the web processes run no jobs; they queue one-off jobs (a first sync) on Redis,
  and ``flask mail worker`` processes schedule and run everything (:mod:`.rq_queue`).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select

from .._state import mail_state
from ..cache.lease import lease_is_free
from ..cache.refresh import sync_unless_busy
from ..models import Mailbox
from . import ledger, rq_queue
from .embedded import EmbeddedRunner
from .ledger import NewJob
from .redis_link import broker_configured
from .runner import run_job

log = logging.getLogger(__name__)


def sync_due_mailboxes() -> int:
    """Sync every usable mailbox no other process is syncing, here and now (the CLI and tests).
    Returns how many were synced."""
    session = mail_state().db.session
    ids = list(session.scalars(select(Mailbox.id).where(
        Mailbox.deleted_at.is_(None), Mailbox.last_test_ok.is_(True),
        Mailbox.needs_sign_in_at.is_(None)).order_by(Mailbox.id)))  # needs sign-in: paused
    return sum(sync_unless_busy(mailbox_id) for mailbox_id in ids)


def sync_soon(app: Flask, mailbox_id: int) -> bool:
    """Sync one mailbox now (e.g. the first time someone opens it): on the queue with a broker,
    else in a thread of this process; unless another process is syncing it. True when a sync
    was queued or started."""
    if not lease_is_free(mailbox_id):
        return False
    return start_job(app, f"sync:{mailbox_id}:now:{uuid.uuid4().hex[:12]}", "sync", (mailbox_id,))


def start_job(app: Flask, key: str, name: str, args: tuple = ()) -> bool:
    """Record the one-off job ``key`` (task ``name``: core's or a plugin's, see
    ``register_jobs``) in the ledger and start it: on its queue with a broker, else in a thread
    of its own in this process, so a long job holds up no periodic one. False when ``key`` was
    recorded before (nothing starts)."""
    recorded = ledger.record_new([NewJob(key, name, tuple(args))])
    if not recorded:
        return False
    if broker_configured(app):
        try:
            rq_queue.enqueue(recorded)
        except RedisError:
            ledger.forget_unqueued([job.key for job in recorded])  # no phantom "queued" job
            raise
        return True

    def run() -> None:
        with app.app_context():
            for job in recorded:
                try:
                    run_job(job.key, job.name, job.args)
                except Exception:  # noqa: BLE001 - recorded in the ledger by run_job
                    log.info("the job %s failed", job.key)

    threading.Thread(target=run, name=f"tricoma-mail-{key[:40]}", daemon=True).start()
    return True


def start_background_work(app: Flask) -> EmbeddedRunner | bool:
    """Start the embedded runner in this web process; with a broker, nothing (False: the workers
    run the jobs). Intervals of 0 switch single periodic jobs off (see config.py)."""
    if broker_configured(app):
        return False
    return EmbeddedRunner(app).start()


def stop_background_work(app: Flask, wait: float = 10.0) -> int:
    """The graceful end of a web process (gunicorn's ``worker_exit``): let the jobs under way
    finish for up to ``wait`` seconds, then hand back what is left; then each plugin stops its
    own background work (``tricoma_mail_stop_background_work``). Returns how much was handed
    back."""
    deadline = time.monotonic() + wait  # one grace for all: gunicorn kills the process after it
    state = mail_state(app)
    handed = 0
    runner = state.background
    if isinstance(runner, EmbeddedRunner):
        state.background = None
        handed = runner.stop(wait)
    caller = state.plugin_manager.hook.tricoma_mail_stop_background_work
    for impl in caller.get_hookimpls():  # enabled or not: a plugin switched off may still run threads
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue  # nothing to wrap: each implementation is called on its own
        arguments = {"app": app, "wait": max(0.0, deadline - time.monotonic())}
        try:
            handed += int(impl.function(*(arguments[name] for name in impl.argnames)) or 0)
        except Exception:  # noqa: BLE001 - one plugin's failure must not keep the others running
            log.exception("plugin %s failed to stop its background work", impl.plugin_name)
    return handed
