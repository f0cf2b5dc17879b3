"""Full-text search over the archive, for the auditor: every archived mail, also the mail no
longer in any mailbox. The text of each entry is extracted from its stored bytes once
(``index_pending``) into ``tricoma_mail_archive_text``; a purge run removes it with the bytes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from .._state import mail_state
from ..mime.folding import fold
from ..mime.html_text import html_to_plain_text
from ..mime.parse import parse_message
from ..models import ArchiveEntry, ArchivePurge, ArchiveText
from .storage import archive_storage

MAX_TEXT_CHARS = 500_000
RESULTS = 200
INDEXED_PER_SEARCH = 1000  # a search waits for at most this many (about 10 s); the CLI does the rest
_BATCH = 200


@dataclass(frozen=True)
class ArchiveQuery:
    text: str = ""  # every word must occur (headers, body, attachment names)
    mailbox_id: int | None = None
    direction: str | None = None  # "in" or "out"
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ArchiveHit:
    entry_id: int
    archived_at: datetime
    mailbox_address: str
    folder: str
    direction: str
    message_id: str
    subject: str
    sender: str
    recipients: str
    sent_at: datetime | None
    size: int
    sha256: str


def _pending():
    return (select(ArchiveEntry.id, ArchiveEntry.sha256)
            .where(ArchiveEntry.id.not_in(select(ArchiveText.entry_id)),
                   ArchiveEntry.id.not_in(select(ArchivePurge.entry_id))))


def pending_count() -> int:
    """Entries whose text is not extracted yet (a search does not find them yet)."""
    return mail_state().db.session.scalar(select(func.count()).select_from(_pending().subquery()))


def index_pending(limit: int = INDEXED_PER_SEARCH, entry_ids: list[int] | None = None) -> int:
    """Extract the text of up to ``limit`` entries not indexed yet (only of ``entry_ids`` if
    given), committed per batch."""
    session = mail_state().db.session
    storage = archive_storage()
    pending_query = _pending() if entry_ids is None else _pending().where(ArchiveEntry.id.in_(entry_ids))
    done = 0
    while done < limit:
        pending = list(session.execute(pending_query.order_by(ArchiveEntry.id).limit(min(_BATCH, limit - done))))
        if not pending:
            break
        session.execute(ArchiveText.__table__.insert(),
                        [_document(entry_id, storage.get(sha) or b"") for entry_id, sha in pending])
        session.commit()
        done += len(pending)
    return done


def _document(entry_id: int, raw: bytes) -> dict:
    parsed = parse_message(raw, max_text_chars=MAX_TEXT_CHARS, with_headers=False)
    body = parsed.text or (html_to_plain_text(parsed.html) if parsed.html else "")
    sender = ", ".join(_address(a) for a in parsed.from_)
    recipients = ", ".join(_address(a) for a in (*parsed.to, *parsed.cc))
    names = " ".join(attachment.filename for attachment in parsed.attachments)
    words = fold(f"{parsed.subject} {sender} {recipients} {names} {body}")
    return {"entry_id": entry_id, "subject": parsed.subject[:2000], "sender": sender[:2000],
            "recipients": recipients[:4000], "sent_at": parsed.date, "words": " ".join(words.split())}


def _address(address) -> str:
    return f"{address.name} <{address.email}>" if address.name else address.email


def search_archive(query: ArchiveQuery, limit: int = RESULTS) -> list[ArchiveHit]:
    """Entries matching every criterion, newest first (indexes what is pending first)."""
    index_pending()
    statement = (select(ArchiveEntry, ArchiveText).join(ArchiveText, ArchiveText.entry_id == ArchiveEntry.id)
                 .order_by(ArchiveEntry.id.desc()).limit(limit))
    for term in re.findall(r"\w+", fold(query.text)):
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(ArchiveText.words.like(f"%{escaped}%", escape="\\"))
    if query.mailbox_id is not None:
        statement = statement.where(ArchiveEntry.mailbox_id == query.mailbox_id)
    if query.direction:
        statement = statement.where(ArchiveEntry.direction == query.direction)
    if query.since:
        statement = statement.where(ArchiveEntry.archived_at >= query.since)
    if query.until:
        statement = statement.where(ArchiveEntry.archived_at < query.until)
    return [_hit(entry, text) for entry, text in mail_state().db.session.execute(statement)]


def hits_by_id(entry_ids: list[int]) -> list[ArchiveHit]:
    """The given entries that are not purged, in id order."""
    index_pending(limit=len(entry_ids), entry_ids=entry_ids)
    rows = mail_state().db.session.execute(
        select(ArchiveEntry, ArchiveText).join(ArchiveText, ArchiveText.entry_id == ArchiveEntry.id)
        .where(ArchiveEntry.id.in_(entry_ids)).order_by(ArchiveEntry.id))
    return [_hit(entry, text) for entry, text in rows]


def _hit(entry: ArchiveEntry, text: ArchiveText) -> ArchiveHit:
    return ArchiveHit(entry.id, entry.archived_at, entry.mailbox_address, entry.folder, entry.direction,
                      entry.message_id, text.subject, text.sender, text.recipients, text.sent_at, entry.size,
                      entry.sha256)
