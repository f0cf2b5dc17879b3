"""Periodic jobs, once per period however many schedulers run.

A period is a whole multiple of the job's interval since the epoch, the same on every host; a
job's ledger key names its period, and the ledger's unique key lets exactly one scheduler queue
it (:func:`ledger.record_new`). Every worker (and, embedded, every web process) runs a
:class:`Scheduler`; more of them only mean more tries at the same unique keys.

Fairness: every period queues one sync per usable mailbox, the least recently synced first, and
none for a mailbox whose last sync job has not run yet, so a queue that falls behind never piles
up turns of one mailbox before the others have had theirs.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .._state import mail_state
from ..models import Mailbox, utcnow
from . import ledger
from .ledger import NewJob

log = logging.getLogger(__name__)


def _intervals() -> dict[str, float]:
    config = current_app.config
    return {"sync": float(config["TRICOMA_MAIL_SYNC_INTERVAL"] or 0),
            "outbox": float(config["TRICOMA_MAIL_OUTBOX_POLL_SECONDS"] or 0),
            "cleanup": float(config["TRICOMA_MAIL_CLEANUP_INTERVAL"] or 0),
            "team": float(config["TRICOMA_MAIL_TEAM_INTERVAL"] or 0)}


def sync_jobs(period: int, interval: float) -> list[NewJob]:
    """One sync per usable mailbox for ``period``, least recently synced first."""
    waiting = {args[0] for args in ledger.waiting_args("sync", utcnow() - timedelta(seconds=2 * interval)) if args}
    ids = mail_state().db.session.scalars(
        select(Mailbox.id).where(Mailbox.deleted_at.is_(None), Mailbox.last_test_ok.is_(True),
                                 Mailbox.needs_sign_in_at.is_(None))  # paused until signed in again
        .order_by(Mailbox.last_sync_at.is_not(None), Mailbox.last_sync_at, Mailbox.id))
    return [NewJob(f"sync:{mailbox_id}:@{period}", "sync", (mailbox_id,))
            for mailbox_id in ids if mailbox_id not in waiting]


class Scheduler:
    """Remembers which period it last looked at for each job, so it asks the database only when
    a new period begins."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._failed_in: dict[str, int] = {}  # the period whose failure was logged, per job

    def due(self, now: float | None = None) -> list[NewJob]:
        """The periodic jobs whose new period began since the last call, recorded in the
        ledger; only those this scheduler recorded first are returned (for it to queue).

        Each job's period counts as looked at once its turns are recorded: when the database
        fails (locked, gone for a moment) the next call tries that period again instead of losing
        its turns, and the other jobs' turns are recorded meanwhile."""
        now = time.time() if now is None else now
        recorded: list[NewJob] = []
        for name, interval in _intervals().items():
            if interval <= 0:
                continue
            period = int(now // interval)
            if self._seen.get(name) == period:
                continue
            try:
                if name == "sync":
                    jobs = sync_jobs(period, interval)
                elif ledger.waiting_args(name, utcnow() - timedelta(seconds=2 * interval)):
                    jobs = []
                else:
                    jobs = [NewJob(f"{name}:@{period}", name)]
                recorded += ledger.record_new(jobs)
            except SQLAlchemyError:
                mail_state().db.session.rollback()
                if self._failed_in.get(name) != period:  # once per period, not at every tick
                    self._failed_in[name] = period
                    log.exception("the %s jobs of this period could not be recorded; trying again", name)
                continue
            self._seen[name] = period
        return recorded

    def look_again(self, jobs: Sequence[NewJob]) -> None:
        """``jobs`` of :meth:`due` did not reach their queue (and the ledger forgot them): the
        next call looks at their periods once more."""
        for job in jobs:
            self._seen.pop(job.name, None)
