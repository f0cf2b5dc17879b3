"""One sync run of a mailbox: finish interrupted operations, bring the cache up to date, index
new text, and record when it ran and what failed."""
from __future__ import annotations

from collections.abc import Iterable

from .._state import mail_state
from ..errors import MailError
from ..events.outbox import deliver_pending
from ..mailboxes.service import backend_for
from ..models import Mailbox, utcnow
from .intents import recover_intents
from .search import forget_orphans, index_pending
from .sync import FolderSyncResult, Progress, sync_mailbox


def _session():
    return mail_state().db.session


def run_sync(mailbox: Mailbox, folders: Iterable[str] | None = None,
             progress: Progress | None = None) -> list[FolderSyncResult]:
    """Connect, finish interrupted operations, sync; record when it ran and what failed."""
    session = _session()
    deliver_pending()  # what a process that stopped after a commit left undelivered
    try:
        with backend_for(mailbox) as backend:
            recover_intents(mailbox, backend)
            results = sync_mailbox(mailbox, backend, folders, progress)
            index_pending(mailbox, backend)
            forget_orphans()
    except MailError as error:
        session.rollback()
        mailbox.last_sync_error = error.user_message[:500]
        session.commit()
        raise
    mailbox.last_sync_at = utcnow()
    mailbox.last_sync_error = None
    session.commit()
    return results
