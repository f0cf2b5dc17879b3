"""The background jobs: plain functions of plain arguments, the same whether the embedded runner
calls them in a thread of the web process or an RQ worker on another host does. Each takes the
keyword ``worker`` (who runs it, for leases) and returns a short word for the ledger.

* ``sync`` (mailbox id): one sync of one mailbox, with a slot of its mail server
  (:mod:`.server_slots`): a full server puts the job back, a paused one skips the turn.
* ``outbox``: send what is due; exactly once by the outbox's own leases (``sending/outbox.py``),
  whatever the queue delivers twice. The Sent folders it filed copies in are synced after, so
  their lists show the mail at once.
* ``cleanup``: old uploads, delivered events, the ledger's finished rows.
* ``team``: snoozed conversations that come back, follow-up reminders that come due.

Enabled plugins add tasks of their own through the ``register_jobs`` hook (:func:`find_task`);
they run through the same ledger, runner and queues.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from .._state import mail_state
from ..cache.refresh import run_sync, sync_unless_busy
from ..cache.sync import cached_folders
from ..errors import MailboxConnectionError, MailError, ServerNotAllowed, SyncBusy
from ..events.outbox import forget_delivered
from ..mail import upload_store
from ..mailboxes.folders import resolve_folder
from ..models import Mailbox
from ..sending import outbox
from ..team import reminders
from . import ledger
from .server_slots import pause, paused, server_slot

log = logging.getLogger(__name__)

SEND_QUEUE = "send"
SYNC_QUEUE = "sync"
#: Finished rows of the ledger are kept this long for the admin page.
LEDGER_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Task:
    """A job's code: ``function(*args, worker=…)`` returns a short word for the ledger; ``queue``
    is :data:`SYNC_QUEUE` (long work that waits on mail servers) or :data:`SEND_QUEUE`."""

    name: str
    queue: str
    function: Callable[..., str]


def sync_task(mailbox_id: int, *, worker: str) -> str:
    """Raises :class:`ServerBusy` when the mailbox's server has no free slot (run it later)."""
    session = mail_state().db.session
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None or not mailbox.usable:
        return "skipped: mailbox not usable"
    server = f"{mailbox.imap_host}:{mailbox.imap_port}"
    if paused(server):
        return "skipped: the server did not answer a moment ago"
    try:
        with server_slot(server, worker, float(current_app.config["TRICOMA_MAIL_JOB_TIMEOUT"])):
            run_sync(mailbox)
    except SyncBusy:
        return "skipped: another sync runs"
    except ServerNotAllowed as error:
        return f"failed: {error.user_message}"
    except MailboxConnectionError as error:
        pause(server)
        return f"failed: {error.user_message}"
    except MailError as error:  # recorded on the mailbox; the next period tries again
        log.warning("sync of mailbox %s failed: %s", mailbox_id, error.user_message)
        return f"failed: {error.user_message}"
    finally:
        session.rollback()
    return "synced"


def outbox_task(*, worker: str) -> str:
    filed: dict[int, str] = {}
    done = outbox.run_once(worker_id=worker, sent_copies=filed)
    for mailbox_id, folder in filed.items():
        folder = folder or _sent_folder(mailbox_id)
        if folder:
            sync_unless_busy(mailbox_id, [folder])
    return f"sent or settled {done}"


def _sent_folder(mailbox_id: int) -> str | None:
    """The Sent folder of a mailbox whose provider files sent mail itself, as its cache knows it."""
    mailbox = mail_state().db.session.get(Mailbox, mailbox_id)
    return resolve_folder(mailbox, "sent", cached_folders(mailbox)) if mailbox is not None else None


def cleanup_task(*, worker: str) -> str:
    uploads = upload_store.remove_stale()
    events = forget_delivered()
    jobs = ledger.prune(LEDGER_KEPT)
    return f"removed {uploads} upload spaces, {events} events, {jobs} ledger rows"


def team_task(*, worker: str) -> str:
    """Snoozed conversations come back, follow-up reminders come due (``team/reminders.py``)."""
    return str(reminders.run_due())


TASKS: dict[str, Task] = {task.name: task for task in (
    Task("sync", SYNC_QUEUE, sync_task),
    Task("outbox", SEND_QUEUE, outbox_task),
    Task("cleanup", SYNC_QUEUE, cleanup_task),
    Task("team", SYNC_QUEUE, team_task),
)}


def find_task(name: str) -> Task:
    """Core's task ``name``, else the one an enabled plugin registers (``register_jobs``).
    Raises ``KeyError`` when there is none (a switched-off plugin's job stays in the ledger)."""
    if name in TASKS:
        return TASKS[name]
    for task in mail_state().hooks.collect("register_jobs"):
        if task.name == name and task.queue in (SEND_QUEUE, SYNC_QUEUE):
            return task
    raise KeyError(name)
