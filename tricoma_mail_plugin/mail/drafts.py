"""Drafts, saved to the mailbox's Drafts folder on the server; saving again replaces the
previous copy (the new one is stored first, then exactly the old UID is removed). The folder's
cache follows at once, so its list shows the draft as saved."""
from __future__ import annotations

from email.policy import SMTP

from sqlalchemy import select

from .._state import mail_state
from ..cache import sync
from ..config import attachment_limit
from ..errors import MailError
from ..mailboxes.backend import MailboxBackend
from ..mailboxes.server_folders import folder_for_role
from ..mime.build import OutgoingMessage, build_message
from ..models import CachedFolder, CachedMessage, Mailbox
from ..rights import access


def save_draft(mailbox: Mailbox, backend: MailboxBackend, user, outgoing: OutgoingMessage,
               replaces_uid: int | None = None) -> tuple[str, int | None]:
    """Store ``outgoing`` as a draft; returns the Drafts folder and the new UID (for the next
    save). ``replaces_uid`` is the UID of the previous copy of the same draft."""
    access.require(user, mailbox.id, "send")
    built = build_message(outgoing, mailbox.sender_name, mailbox.email or mailbox.imap_username,
                          draft=True, max_attachment_bytes=attachment_limit())
    folder = folder_for_role(mailbox, backend, "drafts", create=True)
    uid = backend.append(folder, built.message.as_bytes(policy=SMTP), flags=["\\Draft", "\\Seen"])
    if replaces_uid:
        backend.select(folder, readonly=False)
        if replaces_uid in backend.search_uids(replaces_uid):
            backend.expunge([replaces_uid])
    sync_drafts_folder(mailbox, backend, folder)
    return folder, uid


def sync_drafts_folder(mailbox: Mailbox, backend: MailboxBackend, folder: str) -> None:
    """The Drafts folder's cache follows the save; should that fail, the draft is saved all the
    same (the form must learn its new UID, or the next save would add a second copy) and the
    next sync lists it."""
    try:
        sync.sync_folder(mailbox, backend, folder)
    except MailError:
        mail_state().db.session.rollback()


def cached_draft(mailbox: Mailbox, folder: str, uid: int) -> int | None:
    """The cached message id of the draft ``uid`` in ``folder`` (``None`` while the cache does
    not hold it): what the compose form opens to go on with a saved draft."""
    return mail_state().db.session.scalar(
        select(CachedMessage.id).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == mailbox.id, CachedFolder.name == folder, CachedMessage.uid == uid))
