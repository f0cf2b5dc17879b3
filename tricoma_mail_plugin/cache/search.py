"""The full-text index of cached message text, and search over the cache.

SQLite: an FTS5 table; PostgreSQL: a ``tsvector`` table with a GIN index (created by migration
0005). Message text is indexed in the background from the first part of each message (enough
for search, cheap to fetch); headers are searched in the cache directly. Messages not indexed yet
can be searched on the server (IMAP SEARCH BODY) on request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, text, update

from .._state import mail_state
from ..mailboxes.backend import MailboxBackend
from ..mime.folding import fold
from ..mime.parse import make_preview, parse_message
from ..models import CachedFolder, CachedMessage, Mailbox
from .listing import PAGE_SIZE, MessagePage, listed_messages, messages_in

INDEXED_BYTES = 64 * 1024
BATCH = 200


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""  # anywhere: subject, sender, recipients, body
    from_: str = ""
    to: str = ""
    subject: str = ""
    since: datetime | None = None
    until: datetime | None = None
    has_attachment: bool | None = None
    unread: bool | None = None


def _session():
    return mail_state().db.session


def _dialect() -> str:
    return _session().get_bind().dialect.name


def index_pending(mailbox: Mailbox, backend: MailboxBackend, limit: int = 5000) -> int:
    """Index up to ``limit`` not yet indexed messages of ``mailbox``. Returns how many."""
    session = _session()
    done = 0
    folders = session.execute(select(CachedFolder.id, CachedFolder.name, CachedFolder.uidvalidity)
                              .where(CachedFolder.mailbox_id == mailbox.id)).all()
    for folder_id, name, uidvalidity in folders:
        pending = session.execute(select(CachedMessage.id, CachedMessage.uid, CachedMessage.subject,
                                         CachedMessage.from_, CachedMessage.to, CachedMessage.cc)
                                  .where(CachedMessage.folder_id == folder_id, CachedMessage.indexed.is_(False))
                                  .order_by(CachedMessage.uid.desc()).limit(limit - done)).all()
        if not pending:
            continue
        status = backend.select(name, readonly=True)
        if status.uidvalidity != uidvalidity:
            continue  # sync will rebuild this folder first
        for offset in range(0, len(pending), BATCH):
            batch = pending[offset:offset + BATCH]
            heads = backend.fetch_partial([row.uid for row in batch], INDEXED_BYTES)
            documents = [(row, _body_text(heads.get(row.uid, b""))) for row in batch]
            _store(documents)
            session.execute(update(CachedMessage).where(CachedMessage.id.in_([row.id for row in batch]))
                            .values(indexed=True))
            session.commit()
            done += len(batch)
        if done >= limit:
            break
    return done


def _body_text(head: bytes) -> str:
    parsed = parse_message(head, max_text_chars=INDEXED_BYTES)
    if parsed.text:
        return parsed.text
    return make_preview(parsed.html, length=INDEXED_BYTES, is_html=True) if parsed.html else ""


def _store(documents) -> None:
    session = _session()
    if _dialect() == "sqlite":
        session.execute(text("DELETE FROM tricoma_mail_fts WHERE rowid = :id"), [{"id": r.id} for r, _ in documents])
        session.execute(
            text("INSERT INTO tricoma_mail_fts(rowid, subject, sender, recipients, body) "
                 "VALUES (:id, :subject, :sender, :recipients, :body)"),
            [{"id": r.id, "subject": r.subject, "sender": r.from_, "recipients": f"{r.to} {r.cc}", "body": body}
             for r, body in documents])
    else:
        session.execute(
            text("INSERT INTO tricoma_mail_search(message_pk, document) VALUES (:id, "
                 "setweight(to_tsvector('simple', :head), 'A') || to_tsvector('simple', :body)) "
                 "ON CONFLICT (message_pk) DO UPDATE SET document = EXCLUDED.document"),
            [{"id": r.id, "head": fold(f"{r.subject} {r.from_} {r.to} {r.cc}"), "body": fold(body)}
             for r, body in documents])


def forget_orphans() -> None:
    """Drop index rows of messages that left the cache (PostgreSQL does it by foreign key)."""
    if _dialect() == "sqlite":
        _session().execute(text("DELETE FROM tricoma_mail_fts WHERE rowid NOT IN (SELECT id FROM tricoma_mail_message)"))
        _session().commit()


def search(folder_ids: list[int], query: SearchQuery, limit: int = PAGE_SIZE) -> MessagePage:
    """Messages in ``folder_ids`` matching every given criterion, newest first."""
    if not folder_ids:
        return MessagePage([], None)
    statement = messages_in(folder_ids)
    for column, value in ((CachedMessage.from_, query.from_), (CachedMessage.to, query.to),
                          (CachedMessage.subject, query.subject)):
        if value:
            statement = statement.where(_contains(column, value))
    if query.since:
        statement = statement.where(CachedMessage.date >= query.since)
    if query.until:
        statement = statement.where(CachedMessage.date < query.until)
    if query.has_attachment is not None:
        statement = statement.where(CachedMessage.has_attachment.is_(query.has_attachment))
    if query.unread is not None:
        statement = statement.where(CachedMessage.seen.is_(not query.unread))
    if query.text.strip():
        statement = statement.where(CachedMessage.id.in_(_text_matches(query.text)))
    rows = _session().execute(statement.order_by(CachedMessage.date.desc(), CachedMessage.id.desc())
                              .limit(limit)).all()
    return MessagePage(listed_messages(rows), None)


def _contains(column, value: str):
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _text_matches(words: str):
    if _dialect() == "sqlite":
        return select(text("rowid")).select_from(text("tricoma_mail_fts")).where(
            text("tricoma_mail_fts MATCH :q")).params(q=_fts5_query(words))
    return select(text("message_pk")).select_from(text("tricoma_mail_search")).where(
        text("document @@ to_tsquery('simple', :q)")).params(q=_tsquery(words))


def _tsquery(words: str) -> str:
    """Every word as a prefix term, all required; only word characters reach the query syntax."""
    terms = re.findall(r"\w+", fold(words))
    return " & ".join(f"{term}:*" for term in terms) or "''"


def _fts5_query(words: str) -> str:
    """Each word as a quoted prefix term, all required: user input never reaches FTS5 syntax."""
    terms = [word.replace('"', '""') for word in words.split() if word.strip('"')]
    return " AND ".join(f'"{term}"*' for term in terms) or '""'


def unindexed_count(folder_ids: list[int]) -> int:
    return _session().scalar(select(func.count()).select_from(CachedMessage).where(
        and_(CachedMessage.folder_id.in_(folder_ids), CachedMessage.indexed.is_(False)))) or 0
