"""What follows a mail the user composed once it is queued: the draft it was written from goes
away, and the message it replies to is marked answered. Neither may undo the sending, so a
failure is only logged. Used by every compose form (v1's page, the v2 interface)."""
from __future__ import annotations

import logging

from .._state import mail_state
from ..cache import intents
from ..cache.bodies import cached_message
from ..errors import MailError
from ..mailboxes.service import backend_for
from ..rights import access
from .draft_discard import discard_draft

log = logging.getLogger(__name__)

REPLY_MODES = ("reply", "reply_all")


def tidy_after_sending(user, *, draft_mailbox_id: int | None = None, draft_uid: int | None = None,
                       replied_mailbox_id: int | None = None, replied_pk: int | None = None,
                       mode: str = "") -> None:
    """Remove the draft ``draft_uid`` of ``draft_mailbox_id`` (needs *send*) and, for a reply,
    flag ``replied_pk`` of ``replied_mailbox_id`` as answered (needs *write*)."""
    if draft_mailbox_id and draft_uid:
        discard_draft_quietly(user, draft_mailbox_id, draft_uid)
    if replied_mailbox_id and replied_pk and mode in REPLY_MODES:
        try:
            writable = access.require(user, replied_mailbox_id, "write")
            cached, folder = cached_message(writable, replied_pk)
            with backend_for(writable) as backend:
                intents.set_flags(writable, backend, folder.name, [cached.uid], add=["\\Answered"])
        except MailError:
            mail_state().db.session.rollback()


def discard_draft_quietly(user, mailbox_id: int, uid: int) -> None:
    """Remove a draft (needs *send*); a failure is logged, never raised."""
    try:
        box = access.require(user, mailbox_id, "send")
        with backend_for(box) as backend:
            discard_draft(box, backend, user, uid)
    except MailError:
        mail_state().db.session.rollback()
        log.warning("the draft %s of mailbox %s could not be removed", uid, mailbox_id)
