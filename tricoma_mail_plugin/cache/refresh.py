"""One sync run of a mailbox: finish interrupted operations, bring the cache up to date, index
new text, and record when it ran and what failed."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from flask_babel import gettext as _

from .._state import mail_state
from ..errors import MailError, SyncBusy
from ..events.outbox import deliver_pending
from ..mailboxes.service import backend_for
from ..models import Mailbox, utcnow
from .intents import recover_intents
from .lease import sync_lease
from .prefetch import prefetch_bodies
from .search import forget_orphans, index_pending
from .sync import FolderSyncResult, Progress, sync_mailbox

log = logging.getLogger(__name__)


def _session():
    return mail_state().db.session


def run_sync(mailbox: Mailbox, folders: Iterable[str] | None = None,
             progress: Progress | None = None, wait: float = 0) -> list[FolderSyncResult]:
    """Take the mailbox's sync lease (waiting up to ``wait`` seconds for another sync; else
    :class:`SyncBusy`), connect, finish interrupted operations, sync; record when it ran and
    what failed. Every error, expected or not, is rolled back and recorded on the mailbox."""
    with sync_lease(mailbox.id, wait):
        return _sync_holding_the_lease(mailbox, folders, progress)


def sync_unless_busy(mailbox_id: int, folders: Iterable[str] | None = None) -> bool:
    """:func:`run_sync` of the mailbox (or only ``folders``) unless another sync runs (that one
    brings the cache up to date) or the mailbox is not in use; a failure is recorded on the mailbox and
    logged, not raised: the next periodic sync tries again. True when it synced."""
    session = _session()
    try:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None or not mailbox.usable or mailbox.needs_sign_in_at is not None:
            return False  # removed, untested, or waiting for a sign-in: no sync now
        run_sync(mailbox, folders)
        return True
    except SyncBusy:
        return False
    except MailError as error:
        log.warning("sync of mailbox %s failed: %s", mailbox_id, error.user_message)
        return False
    finally:
        session.rollback()


def _sync_holding_the_lease(mailbox: Mailbox, folders: Iterable[str] | None,
                            progress: Progress | None) -> list[FolderSyncResult]:
    session = _session()
    # What a process that stopped after a commit left undelivered, with the events an earlier
    # sync of the mailbox recorded leased to itself (sync.store_new_messages): that sync is over.
    deliver_pending(taking_over=mailbox.id)
    try:
        with backend_for(mailbox) as backend:
            recover_intents(mailbox, backend)
            results = sync_mailbox(mailbox, backend, folders, progress)
            index_pending(mailbox, backend)
            forget_orphans()
            prefetch_bodies(mailbox, backend)
    except MailError as error:
        _record_failure(mailbox, error.user_message, getattr(error, "detail", None))
        raise
    except Exception as error:
        log.exception("the sync of mailbox %s stopped on an unexpected error", mailbox.id)
        message = _("The sync stopped on an unexpected error. It was logged; the next sync starts again.")
        _record_failure(mailbox, message, f"{type(error).__name__}: {error}")
        raise MailError(message) from error
    mailbox.last_sync_at = utcnow()
    mailbox.last_sync_error = mailbox.last_sync_detail = None
    session.commit()
    return results


def _record_failure(mailbox: Mailbox, message: str, detail: str | None) -> None:
    session = _session()
    session.rollback()
    mailbox.last_sync_error = message[:500]
    mailbox.last_sync_detail = (detail or "")[:1000] or None
    session.commit()
