"""Removing a draft once the mail it became was sent: the draft's job is done, and leaving it
would make the user send the same mail twice. Only that one UID is removed, and the Drafts
folder's cache follows at once."""
from __future__ import annotations

from ..errors import FolderNotFound
from ..mailboxes.backend import MailboxBackend
from ..mailboxes.server_folders import folder_for_role
from ..models import Mailbox
from ..rights import access
from .drafts import sync_drafts_folder


def discard_draft(mailbox: Mailbox, backend: MailboxBackend, user, uid: int) -> bool:
    """Remove the draft ``uid`` from the mailbox's Drafts folder. Returns False when it is not
    there (any more). Needs *send*, the right drafts are saved with."""
    access.require(user, mailbox.id, "send")
    try:
        folder = folder_for_role(mailbox, backend, "drafts", create=False)
    except FolderNotFound:
        return False
    backend.select(folder, readonly=False)
    if uid not in backend.search_uids(uid):
        return False
    backend.expunge([uid])
    sync_drafts_folder(mailbox, backend, folder)
    return True
