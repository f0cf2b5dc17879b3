"""The mailboxes a user may read with the unread count of each INBOX: the left navigation and
the mail start page ask this on every page, so it costs two small queries whatever the number of
mailboxes (the readable mailboxes, then the INBOX counts of all of them at once)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .._state import mail_state
from ..models import CachedFolder, Mailbox
from ..rights import access


@dataclass(frozen=True)
class MailboxUnread:
    mailbox: Mailbox
    unread: int  # in its INBOX, as last synced


def readable_with_unread(user) -> list[MailboxUnread]:
    """Every live mailbox ``user`` may read, by title, with its INBOX's unread count."""
    mailboxes = access.mailboxes_with(user, "read")
    if not mailboxes:
        return []
    counts = dict(mail_state().db.session.execute(
        select(CachedFolder.mailbox_id, CachedFolder.unseen)
        .where(CachedFolder.mailbox_id.in_([m.id for m in mailboxes]), CachedFolder.name == "INBOX")).all())
    return [MailboxUnread(mailbox, counts.get(mailbox.id) or 0) for mailbox in mailboxes]
