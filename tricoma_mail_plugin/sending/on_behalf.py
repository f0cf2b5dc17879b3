"""Sending from other apps (S2): the compose context an app pre-fills, attachments frozen with
their hash when the dialog opens, and ``send_on_behalf``, the one call apps use to send.

Apps never touch a backend, SMTP or the queue directly.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .._state import mail_state
from ..errors import InvalidSettings, MailboxNotFound
from ..mime.build import AttachmentData, OutgoingMessage
from ..models import FrozenAttachment, Mailbox, utcnow
from ..records import mail_links
from ..records.references import Reference
from ..rights import access
from . import outbox

FROZEN_FOR = timedelta(days=1)


@dataclass(frozen=True)
class ComposeContext:
    """An app's pre-fill for "send by e-mail" from one record (``compose_context`` hook)."""

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    attachments: tuple[AttachmentData, ...] = ()
    notes: tuple[str, ...] = ()  # shown in the dialog, e.g. "The customer has no e-mail address."


def compose_context(reference: Reference, user) -> ComposeContext:
    """The merged pre-fill of every enabled plugin: recipients, attachments and notes are added
    up; the first subject and body win."""
    merged = ComposeContext()
    for context in mail_state().hooks.call("compose_context", reference=reference, user=user):
        if not isinstance(context, ComposeContext):
            continue
        merged = ComposeContext(
            to=merged.to + context.to, cc=merged.cc + context.cc, bcc=merged.bcc + context.bcc,
            subject=merged.subject if merged.subject is not None else context.subject,
            text=merged.text if merged.text is not None else context.text,
            html=merged.html if merged.html is not None else context.html,
            attachments=merged.attachments + context.attachments,
            notes=merged.notes + context.notes,
        )
    return merged


def app_mailboxes(user) -> list[Mailbox]:
    """The usable mailboxes ``user`` may send from other apps through."""
    return [mailbox for mailbox in access.mailboxes_with(user, "send_from_apps") if mailbox.usable]


def freeze(user, reference: Reference | None, attachments) -> list[FrozenAttachment]:
    """Keep an app's attachments byte for byte; the dialog shows and sends exactly these."""
    session = mail_state().db.session
    session.execute(delete(FrozenAttachment).where(FrozenAttachment.created_at < utcnow() - FROZEN_FOR))
    frozen = []
    for attachment in attachments:
        row = FrozenAttachment(token=secrets.token_urlsafe(24), user_id=str(user.get_id()),
                               reference=str(reference) if reference else None, filename=attachment.filename,
                               content_type=attachment.content_type, data=attachment.data,
                               sha256=hashlib.sha256(attachment.data).hexdigest())
        session.add(row)
        frozen.append(row)
    session.commit()
    return frozen


def frozen_attachment(user, token: str) -> FrozenAttachment:
    row = mail_state().db.session.scalar(select(FrozenAttachment).where(FrozenAttachment.token == token))
    if row is None or row.user_id != str(user.get_id()):
        raise MailboxNotFound(_("This attachment is no longer available; open the dialog again."))
    if hashlib.sha256(row.data).hexdigest() != row.sha256:
        raise InvalidSettings(_("An attachment changed after you saw it; open the dialog again."))
    return row


def thawed(user, tokens) -> tuple[AttachmentData, ...]:
    return tuple(AttachmentData(row.filename, row.content_type, row.data)
                 for row in (frozen_attachment(user, token) for token in tokens))


def send_on_behalf(user, mailbox: Mailbox, message: OutgoingMessage, reference: Reference | None = None,
                   idempotency_key: str | None = None, send_at: datetime | None = None) -> int:
    """Queue ``message`` from ``mailbox`` for ``user`` on behalf of an app; returns the outbox id.

    Needs *send from apps* on the mailbox. Runs ``before_send`` (which may veto), adds the
    mailbox's default Bcc for app mail, links the mail to ``reference`` and audits the send. The
    same ``idempotency_key`` twice queues one mail.
    """
    if mailbox is None or mailbox.deleted_at is not None:
        raise MailboxNotFound()
    access.require(user, mailbox.id, "send_from_apps")
    app_bcc = tuple(a.strip() for a in (mailbox.app_bcc or "").split(",") if a.strip())
    if app_bcc:
        message = replace(message, bcc=tuple(message.bcc) + app_bcc)
    already = outbox.find_by_key(mailbox, idempotency_key)
    item = outbox.enqueue(mailbox, user, message, idempotency_key=idempotency_key, send_at=send_at,
                          reference=reference, right="send_from_apps")
    if already is None:
        recipients = ", ".join(item.recipients)
        if reference is not None:
            mail_links.link(reference, mailbox.id, item.message_id, "sent", item.subject, recipients, item.id)
        access.audit(str(user.get_id()), mailbox.id, "send_on_behalf",
                     reference=str(reference) if reference else None, outbox_item=item.id,
                     recipients=recipients, subject=item.subject)
    return item.id
