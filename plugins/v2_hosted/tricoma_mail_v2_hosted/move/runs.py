"""Moves started on the "Move a mailbox" page: a background job (core's job ledger, task
``v2_hosted_move``) runs :func:`~.copy_service.move_mailbox` and writes its progress to
``v2_hosted_move_run``, which the page reads every second.

Starting needs *manage* on both mailboxes; the source is an external (v1) mailbox, the target a
hosted (v2) one. While a move of the same pair runs, starting again shows that one instead of
making a second. A move that stopped (an error, a process that died) is resumed by starting it
again: the copy code goes on after the last recorded batch and never appends a message the
target folder holds already.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from imapclient.exceptions import IMAPClientError
from sqlalchemy import func, select

from tricoma_mail_plugin import (
    JOB_QUEUE_SYNC,
    InvalidSettings,
    JobTask,
    MailError,
    db_session,
    job_status,
    live_mailbox,
    mailboxes_with_right,
    require_mailbox_right,
    start_job,
    utcnow,
)

from ..i18n import gettext as _
from ..marks import is_v2
from ..tables import move_progress, move_runs
from .copy_service import move_mailbox

log = logging.getLogger(__name__)

TASK_NAME = "v2_hosted_move"
#: a running move writes its progress at least this often (and at most every PROGRESS_EVERY)
PROGRESS_EVERY = 0.4
#: a "running" move whose progress is older than this (seconds; config
#: ``TRICOMA_MAIL_V2_MOVE_STALE_SECONDS``) has lost its process: it can be resumed
STALE_SECONDS = 90
#: a move still waiting for a worker this long is taken as lost too
QUEUED_AT_MOST = timedelta(hours=1)
ACTIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class MailboxChoice:
    id: int
    title: str
    email: str


@dataclass(frozen=True)
class MoveChoices:
    """What the user may move: external mailboxes into hosted ones, managing both."""

    sources: list[MailboxChoice]
    targets: list[MailboxChoice]


@dataclass(frozen=True)
class MoveRun:
    id: int
    source_id: int
    target_id: int
    source_title: str
    target_title: str
    state: str  # "queued", "running", "done", "failed" or "interrupted" (its process is gone)
    total: int | None
    handled: int
    copied: int
    skipped: int
    folder: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        if not self.total:
            return 0
        return min(100, int(100 * self.handled / self.total))


def choices(user) -> MoveChoices:
    managed = mailboxes_with_right(user, "manage")
    sources = [MailboxChoice(box.id, box.title, box.email or "") for box in managed if not is_v2(box.id)]
    targets = [MailboxChoice(box.id, box.title, box.email or "") for box in managed if is_v2(box.id)]
    return MoveChoices(sources, targets)


def start(user, source_id: int, target_id: int) -> int:
    """Start moving ``source_id`` into ``target_id`` as a background job and return the run's
    id (that of the move already under way, if there is one). Raises ``MailboxNotFound`` /
    ``NotAllowed`` without manage on either, :class:`InvalidSettings` for a pair that cannot be
    moved."""
    require_mailbox_right(user, source_id, "manage")
    require_mailbox_right(user, target_id, "manage")
    if source_id == target_id:
        raise InvalidSettings(_("Please choose two different mailboxes."), field="target")
    if not is_v2(target_id):
        raise InvalidSettings(_("The target must be a hosted tricoma mailbox."), field="target")
    if is_v2(source_id):
        raise InvalidSettings(_("The source must be an external mailbox (not a hosted one)."), field="source")
    under_way = _active_run(source_id, target_id)
    if under_way is not None:
        return under_way
    key = f"{TASK_NAME}:{source_id}:{target_id}:{uuid.uuid4().hex[:12]}"
    now = utcnow()
    session = db_session()
    run_id = session.execute(move_runs.insert().values(
        source_id=source_id, target_id=target_id, job_key=key, state="queued", handled=0, copied=0, skipped=0,
        started_by=str(user.get_id()), created_at=now, updated_at=now)).inserted_primary_key[0]
    session.commit()
    start_job(current_app._get_current_object(), key, TASK_NAME, (run_id,))
    return run_id


def run_for(user, run_id: int) -> MoveRun | None:
    """The run, if ``user`` manages both of its mailboxes (None otherwise: not theirs to see)."""
    if not 0 < run_id < 2**31:  # the id column's range: a forged number finds nothing
        return None
    row = db_session().execute(select(move_runs).where(move_runs.c.id == run_id)).first()
    if row is None:
        return None
    require_mailbox_right(user, row.source_id, "manage")
    require_mailbox_right(user, row.target_id, "manage")
    return _value(row)


def recent_runs(user, limit: int = 10) -> list[MoveRun]:
    """The latest runs on mailboxes ``user`` manages, newest first."""
    managed = {box.id for box in mailboxes_with_right(user, "manage")}
    rows = db_session().execute(select(move_runs).order_by(move_runs.c.id.desc()).limit(200))
    return [_value(row) for row in rows if row.source_id in managed and row.target_id in managed][:limit]


# -- the job ----------------------------------------------------------------------------------


def move_task(run_id: int, *, worker: str) -> str:
    """The background job: move the run's mailboxes, writing its progress as it goes."""
    session = db_session()
    row = session.execute(select(move_runs).where(move_runs.c.id == run_id)).first()
    if row is None:
        return "skipped: no such move"
    if _active_run(row.source_id, row.target_id, other_than=run_id) is not None:
        _update(run_id, state="failed", error=_("Another move of these mailboxes is under way."), finished=True)
        return "skipped: another move of the pair runs"
    # what earlier runs of the pair recorded counts as done: a resumed move shows the whole way
    earlier = _recorded(row.source_id, row.target_id)
    _update(run_id, state="running", error=None)
    last_write = 0.0

    def progress(folder: str, handled: int, total: int) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write >= PROGRESS_EVERY or handled == total:
            last_write = now
            _update(run_id, handled=earlier + handled, total=earlier + total, folder=folder)

    try:
        result = move_mailbox(row.source_id, row.target_id, progress, actor=row.started_by)
    except (MailError, OSError, IMAPClientError, LookupError, ValueError) as error:
        session.rollback()
        message = error.user_message if isinstance(error, MailError) else str(error)
        log.warning("move %s (%s -> %s) stopped: %s", run_id, row.source_id, row.target_id, message)
        _update(run_id, state="failed", error=message, finished=True)
        return f"failed: {message}"[:200]
    except BaseException:
        session.rollback()
        _update(run_id, state="failed", error=_("The move stopped on an unexpected error."), finished=True)
        raise
    current = session.execute(select(move_runs.c.total).where(move_runs.c.id == run_id)).one()
    done = current.total if current.total is not None else earlier
    _update(run_id, state="done", copied=result.copied, skipped=result.skipped, folder=None,
            total=done, handled=done, finished=True)
    return f"moved: {result.copied} copied, {result.skipped} already there"


def job_tasks() -> list[JobTask]:
    return [JobTask(TASK_NAME, JOB_QUEUE_SYNC, move_task)]


# -- helpers ----------------------------------------------------------------------------------


def _update(run_id: int, finished: bool = False, **values) -> None:
    now = utcnow()
    values["updated_at"] = now
    if finished:
        values["finished_at"] = now
    session = db_session()
    session.execute(move_runs.update().where(move_runs.c.id == run_id).values(**values))
    session.commit()


def _recorded(source_id: int, target_id: int) -> int:
    """How many messages of the source earlier runs recorded as handled."""
    query = select(func.coalesce(func.sum(move_progress.c.copied), 0)).where(
        move_progress.c.source_id == source_id, move_progress.c.target_id == target_id)
    return int(db_session().scalar(query))


def _active_run(source_id: int, target_id: int, other_than: int | None = None) -> int | None:
    rows = db_session().execute(
        select(move_runs).where(move_runs.c.source_id == source_id, move_runs.c.target_id == target_id,
                                move_runs.c.state.in_(ACTIVE_STATES)).order_by(move_runs.c.id.desc()))
    for row in rows:
        if row.id != other_than and _state(row) in ACTIVE_STATES:
            return row.id
    return None


def _state(row) -> str:
    """The row's state, with a run whose process is gone shown as "interrupted"."""
    now = utcnow()
    stale_after = timedelta(seconds=float(current_app.config.get("TRICOMA_MAIL_V2_MOVE_STALE_SECONDS", STALE_SECONDS)))
    if row.state == "running" and now - row.updated_at > stale_after:
        return "interrupted"
    if row.state == "queued":
        ledger = job_status(row.job_key)
        if ledger is None or ledger.state in ("done", "failed") or now - row.created_at > QUEUED_AT_MOST:
            return "interrupted"
    return row.state


def _value(row) -> MoveRun:
    source, target = live_mailbox(row.source_id), live_mailbox(row.target_id)
    return MoveRun(row.id, row.source_id, row.target_id, source.title if source else f"#{row.source_id}",
                   target.title if target else f"#{row.target_id}", _state(row), row.total, row.handled,
                   row.copied, row.skipped, row.folder, row.error, row.created_at, row.finished_at)
