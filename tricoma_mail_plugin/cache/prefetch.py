"""Bodies fetched ahead: after a sync, the bodies of the newest and the unread mail of the
inbox are fetched in a few round trips and kept in the body cache, so that opening one of them
asks the server nothing. Prefetching only fills free room of the mailbox's budget (never more
than half of it): it never pushes out a body someone read."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, or_, select

from .._state import mail_state
from ..bulk_insert import insert_ignoring_duplicates
from ..mailboxes.backend import MailboxBackend
from ..models import CachedBody, CachedFolder, CachedMessage, Mailbox, utcnow

FETCH_CHUNK = 50  # bodies per FETCH command
UNREAD_WINDOW = 5  # unread mail is fetched ahead among this many times the newest


def _session():
    return mail_state().db.session


def prefetch_bodies(mailbox: Mailbox, backend: MailboxBackend) -> int:
    """Fetch and keep the bodies the inbox is likely to be opened at next: the
    ``TRICOMA_MAIL_PREFETCH_MESSAGES`` newest and recent unread ones, newest first, within the free
    room of the body budget. Returns how many bodies were stored."""
    wanted = int(current_app.config["TRICOMA_MAIL_PREFETCH_MESSAGES"])
    if wanted <= 0:
        return 0
    session = _session()
    inbox = session.scalar(select(CachedFolder).where(
        CachedFolder.mailbox_id == mailbox.id, func.upper(CachedFolder.name) == "INBOX"))
    if inbox is None or inbox.uidvalidity is None:
        return 0
    budget = current_app.config["TRICOMA_MAIL_BODY_CACHE_BYTES"]
    kept = session.scalar(select(func.coalesce(func.sum(CachedBody.size), 0)).where(
        CachedBody.mailbox_id == mailbox.id))
    room = min(budget // 2, budget - kept)
    picked = _candidates(inbox, wanted, min(room, budget // 4))
    chosen, total = [], 0
    for pk, uid, size in picked:
        if total + size > room:
            break
        chosen.append((pk, uid))
        total += size
    session.commit()  # no transaction is held while the server answers
    if not chosen:
        return 0
    status = backend.select(inbox.name, readonly=True)
    if status.uidvalidity != inbox.uidvalidity:
        return 0  # the folder was renumbered: the next sync rebuilds it first
    stored = 0
    for offset in range(0, len(chosen), FETCH_CHUNK):
        chunk = {uid: pk for pk, uid in chosen[offset:offset + FETCH_CHUNK]}
        fetched = backend.fetch_messages(sorted(chunk))
        rows = [{"message_pk": chunk[uid], "mailbox_id": mailbox.id, "raw": raw, "size": len(raw), "used_at": utcnow()}
                for uid, raw in fetched.items()]
        if rows:
            # a body someone opened meanwhile is kept as it is
            session.execute(insert_ignoring_duplicates(session, CachedBody.__table__), rows)
            session.commit()
            stored += len(rows)
    return stored


def _candidates(inbox: CachedFolder, newest: int, largest: int) -> list[tuple[int, int, int]]:
    """``(pk, uid, size)`` of inbox messages without a cached body, no larger than ``largest``:
    the ``newest`` newest, and the unread among the ``UNREAD_WINDOW`` times as many newest (old
    unread mail is not fetched ahead: it was left unread for a while), newest first."""
    session = _session()
    by_date = (CachedMessage.date.desc(), CachedMessage.id.desc())
    in_inbox = select(CachedMessage.id).where(CachedMessage.folder_id == inbox.id).order_by(*by_date)
    rows = session.execute(
        select(CachedMessage.id, CachedMessage.uid, CachedMessage.size)
        .outerjoin(CachedBody, CachedBody.message_pk == CachedMessage.id)
        .where(CachedMessage.folder_id == inbox.id, CachedBody.message_pk.is_(None), CachedMessage.size <= largest,
               CachedMessage.id.in_(in_inbox.limit(newest * UNREAD_WINDOW).scalar_subquery()),
               or_(CachedMessage.seen.is_(False), CachedMessage.id.in_(in_inbox.limit(newest).scalar_subquery())))
        .order_by(*by_date).limit(newest * 2)).all()
    return [(pk, uid, size or 0) for pk, uid, size in rows]
