"""Mail leaving through the outbox: journaled before the server sees it."""
from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from .._state import mail_state
from ..errors import ArchiveWriteFailed
from ..models import OutboxItem
from .journal import Arrival, archive, journal_enabled


def archive_before_sending(item: OutboxItem) -> None:
    """Journal the item's final bytes and commit, before the SMTP connection: a mail is never
    sent without its archive entry (a retry finds the entry and writes none). Raises
    :class:`ArchiveWriteFailed`; the outbox then retries the item later."""
    if not journal_enabled():
        return
    archive(Arrival(item.mailbox_id, item.sender, "", "out", "outbox"), [item.raw])
    try:
        mail_state().db.session.commit()
    except SQLAlchemyError as error:
        raise ArchiveWriteFailed(detail=f"{type(error).__name__}: {error}") from error
