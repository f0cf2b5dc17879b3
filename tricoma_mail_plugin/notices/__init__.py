"""A user's notices: "Anna mentioned you in a note", "Bob assigned a conversation to you".

Any part of core (and the team features) calls :func:`notify`; the user sees the notices in the
navigation (an entry with the unread count, kept live on the v2 page) and on the notices page,
and marks them read by opening them. A notice stores a msgid and its values rather than text, so
it is translated when shown, in the reader's language; mark msgids with :func:`notice_text` so a
reader of the code finds them in the catalogues.

A notice about a mailbox (``mailbox_id``) shows only while its reader may read that mailbox: one
whose right was taken away sees nothing of it (not even a subject in the notice's text).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import bindparam, func, or_, select, update

from .._state import db_session
from ..cache_versions import forget_versions, versioned_cache
from ..models import Notice, is_row_id, utcnow
from ..rights.access import effective_rights

#: How many notices the navigation's list and the JSON answer show.
LATEST = 10
KINDS_MAX = 40


def notice_text(msgid: str) -> str:
    """Mark ``msgid`` as a notice text (translated when shown, not now)."""
    return msgid


@dataclass(frozen=True)
class NoticeView:
    """A notice as its reader sees it: the text in the reader's language."""

    id: int
    kind: str
    text: str
    link: str | None
    created_at: datetime
    read: bool

    def as_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "text": self.text, "link": self.link,
                "created_at": self.created_at.isoformat(), "read": self.read}


def notify(user_id: int | str, kind: str, text_key: str, params: dict | None = None,
           link: str | None = None, *, mailbox_id: int | None = None) -> None:
    """Give user ``user_id`` a notice. ``text_key`` is an English msgid with ``%(name)s``
    placeholders filled from ``params`` when it is shown; ``link`` a path on this site (or
    ``None``); ``mailbox_id`` the mailbox it is about, if any (the notice shows only while the
    user may read it). Added to the caller's transaction; commits are the caller's."""
    if link is not None and (not link.startswith("/") or link.startswith("//")):
        raise ValueError("a notice links to a path on this site")
    db_session().add(Notice(user_id=str(user_id), kind=kind[:KINDS_MAX], text_key=text_key,
                            params=dict(params or {}), link=link, mailbox_id=mailbox_id, created_at=utcnow()))
    forget_versions()  # this request's next count sees its own notice


def _may_see(user, mailbox_id: int | None) -> bool:
    """Whether ``user`` may see a notice about ``mailbox_id`` (none: about no mailbox)."""
    return mailbox_id is None or "read" in effective_rights(user, mailbox_id)


def _visible(user):
    """The condition of the notices ``user`` may see: their own, about no mailbox or about one
    they may read now."""
    user_id = str(user.get_id())
    session = db_session()
    mailbox_ids = session.scalars(select(Notice.mailbox_id).where(
        Notice.user_id == user_id, Notice.mailbox_id.is_not(None)).distinct())
    readable = [mailbox_id for mailbox_id in mailbox_ids if _may_see(user, mailbox_id)]
    return Notice.user_id == user_id, or_(Notice.mailbox_id.is_(None), Notice.mailbox_id.in_(readable))


# Built once: the navigation asks on every page (building a statement costs more than running it).
_UNREAD_PER_MAILBOX = (select(Notice.mailbox_id, func.count(Notice.id))
                       .where(Notice.user_id == bindparam("user_id"), Notice.read_at.is_(None))
                       .group_by(Notice.mailbox_id))


def unread_count(user) -> int:
    """How many unread notices ``user`` (a host user) may see: counted per mailbox, each
    mailbox's count kept while the user may read it (:func:`_may_see`, as :func:`_visible`). The
    counts per mailbox are one query, which a web process remembers under the version of the
    notices (``cache_versions``; every page's navigation asks)."""
    user_id = str(user.get_id())

    def read() -> tuple[tuple[int | None, int], ...]:
        return tuple((mailbox_id, count) for mailbox_id, count in
                     db_session().execute(_UNREAD_PER_MAILBOX, {"user_id": user_id}))

    counts = versioned_cache().get_or_load("notices", ("unread", user_id), read) if has_request_context() else read()
    return sum(count for mailbox_id, count in counts if _may_see(user, mailbox_id))


def latest(user, limit: int = LATEST, unread_only: bool = False) -> list[NoticeView]:
    """The notices ``user`` may see, newest first."""
    query = select(Notice).where(*_visible(user))
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    rows = db_session().scalars(query.order_by(Notice.id.desc()).limit(limit))
    return [_view(row) for row in rows]


def mark_read(user, notice_id: int) -> Notice | None:
    """Mark one of the notices ``user`` may see read; ``None`` when it is not theirs (or not
    visible to them, or does not exist). Commits."""
    if not is_row_id(notice_id):
        return None
    session = db_session()
    row = session.scalar(select(Notice).where(Notice.id == notice_id, *_visible(user)))
    if row is None:
        return None
    if row.read_at is None:
        row.read_at = utcnow()
        session.commit()
        forget_versions()
    return row


def mark_all_read(user) -> int:
    """Mark every notice ``user`` may see read. Commits; returns how many were unread."""
    session = db_session()
    result = session.execute(update(Notice).where(*_visible(user), Notice.read_at.is_(None))
                             .values(read_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    forget_versions()
    return result.rowcount or 0


def render_text(text_key: str, params: dict) -> str:
    """The notice's text in the current language; values that do not fit leave the msgid as is."""
    try:
        return gettext(text_key, **{str(k): v for k, v in (params or {}).items()})
    except (KeyError, ValueError, TypeError):
        return gettext(text_key)


def _view(row: Notice) -> NoticeView:
    return NoticeView(row.id, row.kind, render_text(row.text_key, row.params), row.link, row.created_at,
                      row.read_at is not None)


__all__ = ["NoticeView", "latest", "mark_all_read", "mark_read", "notice_text", "notify", "render_text",
           "unread_count"]
