"""Message bodies, fetched on demand and kept in a size budget per mailbox (least recently read
go first)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..errors import MessageNotFound
from ..mailboxes.backend import MailboxBackend
from ..mailboxes.service import backend_for
from ..models import CachedBody, CachedFolder, CachedMessage, Mailbox, is_row_id, utcnow

_USE_RECORDED_EVERY = timedelta(minutes=10)


# Built once (every reading page and body frame asks): building a statement costs more than running it.
_MESSAGE_IN_MAILBOX = (select(CachedMessage, CachedFolder).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
                       .where(CachedMessage.id == bindparam("pk"), CachedFolder.mailbox_id == bindparam("mailbox_id")))


def cached_message(mailbox: Mailbox, message_pk: int) -> tuple[CachedMessage, CachedFolder]:
    """The cached summary ``message_pk`` if it belongs to ``mailbox``, else MessageNotFound."""
    if not is_row_id(message_pk):
        raise MessageNotFound()
    row = mail_state().db.session.execute(_MESSAGE_IN_MAILBOX, {"pk": message_pk, "mailbox_id": mailbox.id}).first()
    if row is None:
        raise MessageNotFound()
    return row[0], row[1]


_MESSAGE_AND_MAILBOX = (select(CachedMessage, CachedFolder, Mailbox)
                        .join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
                        .join(Mailbox, Mailbox.id == CachedFolder.mailbox_id)
                        .where(CachedMessage.id == bindparam("pk"), CachedFolder.mailbox_id == bindparam("mailbox_id")))


def message_and_mailbox(mailbox_id: int, message_pk: int) -> tuple[CachedMessage, CachedFolder, Mailbox] | None:
    """The cached summary ``message_pk`` of mailbox ``mailbox_id``, its folder and the mailbox,
    or None; no rights are checked. While the caller holds the mailbox row, the session finds it
    there, so the rights check that must follow (``access.require``, before anything is
    answered) asks nothing: opening a message asks the database once for the three."""
    if not (is_row_id(message_pk) and is_row_id(mailbox_id)):
        return None
    row = mail_state().db.session.execute(_MESSAGE_AND_MAILBOX, {"pk": message_pk, "mailbox_id": mailbox_id}).first()
    return (row[0], row[1], row[2]) if row is not None else None


def is_cached(message_pk: int) -> bool:
    """Whether the body of ``message_pk`` is in the cache (without reading it)."""
    return mail_state().db.session.scalar(
        select(CachedBody.message_pk).where(CachedBody.message_pk == message_pk)) is not None


def raw_message(mailbox: Mailbox, message_pk: int, backend: MailboxBackend | None = None) -> bytes:
    """The message's RFC 5322 bytes: from the cache, else from the server (then cached)."""
    session = mail_state().db.session
    message, folder = cached_message(mailbox, message_pk)
    body = session.get(CachedBody, message.id)
    if body is not None:
        now = utcnow()
        if now - body.used_at > _USE_RECORDED_EVERY:  # the eviction order needs no finer clock
            body.used_at = now
            session.commit()
        return body.raw
    if backend is None:
        with backend_for(mailbox) as connected:
            return _fetch_and_keep(mailbox, message, folder, connected)
    return _fetch_and_keep(mailbox, message, folder, backend)


def _fetch_and_keep(mailbox: Mailbox, message: CachedMessage, folder: CachedFolder,
                    backend: MailboxBackend) -> bytes:
    session = mail_state().db.session
    status = backend.select(folder.name, readonly=True)
    if status.uidvalidity != folder.uidvalidity:
        raise MessageNotFound()
    raw = backend.fetch_message(message.uid)
    if raw is None:
        session.delete(message)
        session.commit()
        raise MessageNotFound()
    budget = current_app.config["TRICOMA_MAIL_BODY_CACHE_BYTES"]
    if len(raw) <= budget // 4:
        session.add(CachedBody(message_pk=message.id, mailbox_id=mailbox.id, raw=raw, size=len(raw)))
        try:
            session.commit()
        except IntegrityError:
            # another request (the reading pane's body while a reply starts) kept it first
            session.rollback()
            return raw
        _evict(mailbox.id, budget)
    return raw


def _evict(mailbox_id: int, budget: int) -> None:
    session = mail_state().db.session
    total = session.scalar(select(func.coalesce(func.sum(CachedBody.size), 0)).where(
        CachedBody.mailbox_id == mailbox_id))
    if total <= budget:
        return
    doomed, freed = [], 0
    for pk, size in session.execute(select(CachedBody.message_pk, CachedBody.size).where(
            CachedBody.mailbox_id == mailbox_id).order_by(CachedBody.used_at)):
        if total - freed <= budget:
            break
        doomed.append(pk)
        freed += size
    session.execute(delete(CachedBody).where(CachedBody.message_pk.in_(doomed)))
    session.commit()
