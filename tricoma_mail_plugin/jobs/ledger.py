"""The job ledger (``JobRun``): one row per job from queued to done or failed.

* :func:`record_new` inserts rows with unique keys and returns the keys this call inserted: a
  periodic job's key names its period (``sync:7:@29050123``), so however many schedulers try to
  queue it, one of them does.
* :func:`claim` turns a queued (or retrying) row into a running one for one worker, with a lease;
  a second delivery of the same job finds the row taken and does nothing. A worker that died
  leaves a lease that runs out, and the job may be claimed again.
* :func:`hand_back` gives the jobs of a stopping process back at once instead of at lease end.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, insert, or_, select, update

from .._state import mail_state
from ..bulk_insert import ignores_duplicates, insert_ignoring_duplicates
from ..models import JobRun, utcnow

#: What the admin page counts.
STATES = ("queued", "running", "retry", "failed", "done")


@dataclass(frozen=True)
class NewJob:
    key: str
    name: str
    args: tuple = ()


def _session():
    return mail_state().db.session


def _lease_seconds() -> int:
    return int(current_app.config["TRICOMA_MAIL_JOB_TIMEOUT"]) + 60


def record_new(jobs: Sequence[NewJob]) -> list[NewJob]:
    """Insert ``jobs`` as queued; return those this call inserted (not a key already there)."""
    if not jobs:
        return []
    session = _session()
    now = utcnow()
    rows = [{"key": job.key, "name": job.name, "args": list(job.args), "state": "queued", "attempts": 0,
             "created_at": now} for job in jobs]
    if not ignores_duplicates(session):  # another database: one row at a time, a duplicate key is skipped
        inserted = set()
        for row in rows:
            if session.scalar(select(JobRun.id).where(JobRun.key == row["key"])) is None:
                session.execute(insert(JobRun), [row])
                inserted.add(row["key"])
    else:
        statement = insert_ignoring_duplicates(session, JobRun.__table__).returning(JobRun.__table__.c.key)
        inserted = set(session.scalars(statement, rows))
    session.commit()
    return [job for job in jobs if job.key in inserted]


def claim(key: str, worker: str) -> bool:
    """Mark the job running for ``worker``; False when it is running elsewhere, done or failed
    (a duplicate delivery) or unknown."""
    session = _session()
    now = utcnow()
    result = session.execute(
        update(JobRun).where(JobRun.key == key, or_(
            JobRun.state.in_(("queued", "retry")),
            and_(JobRun.state == "running", JobRun.lease_until < now)))
        .values(state="running", worker=worker[:100], attempts=JobRun.attempts + 1, started_at=now,
                lease_until=now + timedelta(seconds=_lease_seconds()))
        .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1


def finish(key: str, worker: str, state: str, error: str | None = None) -> None:
    """End ``worker``'s run of the job: ``done``, ``retry`` (it runs again later) or ``failed``."""
    session = _session()
    session.rollback()
    session.execute(
        update(JobRun).where(JobRun.key == key, JobRun.worker == worker[:100], JobRun.state == "running")
        .values(state=state, finished_at=utcnow(), lease_until=None,
                last_error=(error or None) and error[:1000])
        .execution_options(synchronize_session=False))
    session.commit()


def put_back(key: str, worker: str) -> None:
    """``worker`` did not start the job after all (its mail server had no free slot): queued
    again, and this claim does not count as an attempt."""
    session = _session()
    session.rollback()
    session.execute(
        update(JobRun).where(JobRun.key == key, JobRun.worker == worker[:100], JobRun.state == "running")
        .values(state="queued", worker=None, lease_until=None, started_at=None, attempts=JobRun.attempts - 1)
        .execution_options(synchronize_session=False))
    session.commit()


@dataclass(frozen=True)
class JobStatus:
    """Where one job of the ledger stands (for a page that shows a job it started)."""

    state: str  # one of STATES
    attempts: int
    last_error: str | None
    started_at: datetime | None
    finished_at: datetime | None


def status(key: str) -> JobStatus | None:
    """The ledger's row ``key`` as a value; None when there is none (pruned or never queued)."""
    row = _session().scalar(select(JobRun).where(JobRun.key == key))
    if row is None:
        return None
    return JobStatus(row.state, row.attempts, row.last_error, row.started_at, row.finished_at)


def attempts(key: str) -> int:
    return _session().scalar(select(JobRun.attempts).where(JobRun.key == key)) or 0


def hand_back(process: str, keys: Iterable[str] = ()) -> int:
    """Give back what a stopping process (workers named ``process`` + ``:…``) holds: its
    running jobs become due again at once, and
    the jobs it had queued in its own memory (``keys``; the embedded runner) are forgotten, so
    the next period queues them anew. Returns how many rows changed."""
    session = _session()
    session.rollback()
    changed = session.execute(
        update(JobRun).where(JobRun.worker.startswith(process + ":", autoescape=True), JobRun.state == "running")
        .values(state="retry", lease_until=None, last_error="handed back by a stopping process")
        .execution_options(synchronize_session=False)).rowcount
    keys = list(keys)
    if keys:
        changed += session.execute(delete(JobRun).where(JobRun.key.in_(keys), JobRun.state == "queued")
                                   .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return changed


def forget_unqueued(keys: Sequence[str]) -> int:
    """Delete the rows of jobs the caller's :func:`record_new` just inserted and Redis refused
    to queue: no phantom "queued" job stays for the admins, and their next turn is recorded anew.
    Only for rows just recorded: a deferred job put back is "queued" too."""
    if not keys:
        return 0
    session = _session()
    gone = session.execute(delete(JobRun).where(JobRun.key.in_(list(keys)), JobRun.state == "queued",
                                                JobRun.attempts == 0)
                           .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return gone


def waiting_args(name: str, since: datetime) -> list[list]:
    """The arguments of each job ``name`` queued, running or waiting for a retry that was
    queued since ``since``: the scheduler queues no second turn beside one that has not run."""
    return [list(args or []) for args in _session().scalars(select(JobRun.args).where(
        JobRun.name == name, JobRun.state.in_(("queued", "running", "retry")), JobRun.created_at >= since))]


def counts() -> dict[str, int]:
    rows = _session().execute(select(JobRun.state, func.count()).group_by(JobRun.state))
    found = dict(rows.all())
    return {state: int(found.get(state, 0)) for state in STATES}


def recent(states: Sequence[str], limit: int = 50) -> list[JobRun]:
    return list(_session().scalars(
        select(JobRun).where(JobRun.state.in_(states)).order_by(JobRun.id.desc()).limit(limit)))


def prune(older_than: timedelta) -> int:
    """Delete finished rows (done, and failed ones) older than ``older_than``."""
    session = _session()
    removed = session.execute(delete(JobRun).where(
        JobRun.state.in_(("done", "failed")), JobRun.created_at < utcnow() - older_than)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return removed
