"""Search on the mail server (IMAP SEARCH TEXT) for what the local full-text index does not cover
yet; the hits are shown from the cache."""
from __future__ import annotations

from sqlalchemy import select

from .._state import mail_state
from ..mailboxes.service import backend_for
from ..models import CachedFolder, CachedMessage, Mailbox
from .listing import PAGE_SIZE, MessagePage, listed_message


def search_on_server(mailbox: Mailbox, folder_name: str, text: str, limit: int = PAGE_SIZE) -> MessagePage:
    """The cached messages of ``folder_name`` whose text contains ``text`` as the server finds
    it, newest first. Messages the cache does not hold yet are not shown (sync first)."""
    session = mail_state().db.session
    folder = session.scalar(select(CachedFolder).where(
        CachedFolder.mailbox_id == mailbox.id, CachedFolder.name == folder_name))
    if folder is None or not text.strip():
        return MessagePage([], None)
    with backend_for(mailbox) as backend:
        status = backend.select(folder_name, readonly=True)
        if status.uidvalidity != folder.uidvalidity:
            return MessagePage([], None)
        uids = backend.search_text(text.strip())
    if not uids:
        return MessagePage([], None)
    rows = session.scalars(
        select(CachedMessage).where(CachedMessage.folder_id == folder.id, CachedMessage.uid.in_(uids[-2000:]))
        .order_by(CachedMessage.date.desc(), CachedMessage.id.desc()).limit(limit))
    return MessagePage([listed_message(row, folder.name, mailbox.id, mailbox.title) for row in rows], None)
