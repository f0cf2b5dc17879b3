"""The journal: each mail written to the archive once, as its original bytes, when it enters the
system (sync stores it for the first time, the outbox hands it to the server).

Entries form a hash chain: each entry's hash covers its own fields and the previous entry's
hash (:func:`entry_hash`). Appends take turns on one lock row, so the chain never forks. A
mail already archived for the same mailbox (same SHA-256: seen again after a UIDVALIDITY reset,
moved to another folder, the Sent copy of a mail the outbox archived) is not archived again.

The journal writes into the caller's transaction and never commits: the caller commits the
entries with the change that brought the mail (the sync checkpoint, the outbox's stage), so a
failed journal write undoes that change instead of losing the entry. On PostgreSQL a sync's
batch is journaled in a transaction of its own instead (:func:`archive_alongside`), committed
while the sync writes its rows and before the sync commits them.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .._state import mail_state
from ..bulk_insert import insert_rows, one_of
from ..errors import ArchiveWriteFailed
from ..models import ArchiveChainLock, ArchiveEntry, utcnow
from .storage import archive_storage
from .thread_pools import ProcessPool

GENESIS = "0" * 64
# Searched in the lower-cased header block (cheaper than a case-insensitive pattern).
_MESSAGE_ID = re.compile(rb"(?:^|\n)message-id[ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)")


@dataclass(frozen=True)
class Arrival:
    """Where a mail entered: its mailbox (``None``: system mail), folder, direction and source."""

    mailbox_id: int | None
    mailbox_address: str
    folder: str
    direction: str  # "in" or "out"
    source: str  # "sync" or "outbox"


def journal_enabled() -> bool:
    return bool(current_app.config["TRICOMA_MAIL_ARCHIVE_ENABLED"])


def content_hash(raw: bytes) -> str:
    """The SHA-256 of ``raw``, hex."""
    if len(raw) > _HASHED_IN_PIECES_UP_TO:
        return hashlib.sha256(raw).hexdigest()
    digest = hashlib.sha256()
    view = memoryview(raw)
    for start in range(0, len(raw), _PIECE):
        digest.update(view[start:start + _PIECE])
    return digest.hexdigest()


# hashlib lets go of the interpreter lock for every input of 2 KiB or more; getting it back
# behind a thread that runs Python (the sync's, parsing the next batch) took a journaled sync
# 30-70 µs a mail, ten times the hashing itself. A mail up to this size is fed in pieces below
# that threshold, so the lock is held; a bigger one lets go once for all of its bytes.
_HASHED_IN_PIECES_UP_TO = 256 * 1024
_PIECE = 2047  # hashlib's HASHLIB_GIL_MINSIZE - 1


@lru_cache(maxsize=64)  # a batch of entries shares one archive time
def moment_text(moment: datetime) -> str:
    """The archive time as the hash covers it (UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def entry_hash(prev_hash: str, archived_at: datetime, mailbox_id: int | None, mailbox_address: str, folder: str,
               direction: str, source: str, message_id: str, size: int, sha256: str) -> str:
    """SHA-256 over the previous entry's hash and this entry's fields: the canonical JSON of
    ``[archive time, mailbox id, mailbox address, folder, direction, source, Message-ID, size,
    SHA-256]``."""
    head = _fields_head(archived_at, mailbox_id, mailbox_address, folder, direction, source)
    payload = head + _CANONICAL([message_id, size, sha256])[1:]  # "[a,b" + "," + "c,d]" == "[a,b,c,d]"
    return hashlib.sha256(prev_hash.encode("ascii") + payload.encode("utf-8")).hexdigest()


# The fields a batch of entries shares, encoded once (typed: 1 and True are equal keys but
# different JSON).
@lru_cache(maxsize=64, typed=True)
def _fields_head(archived_at: datetime, mailbox_id: int | None, mailbox_address: str, folder: str, direction: str,
                 source: str) -> str:
    """The canonical JSON of the shared fields, open for the rest: ``[f1,…,f6,``."""
    return _CANONICAL([moment_text(archived_at), mailbox_id, mailbox_address, folder, direction, source])[:-1] + ","


def hash_of(entry: ArchiveEntry, prev_hash: str) -> str:
    return entry_hash(prev_hash, entry.archived_at, entry.mailbox_id, entry.mailbox_address, entry.folder,
                      entry.direction, entry.source, entry.message_id, entry.size, entry.sha256)


def message_id_of(raw: bytes) -> str:
    """The Message-ID header of the raw bytes, unfolded (empty when there is none)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw[:end] if end >= 0 else raw
    lowered = head.lower()
    start = 0 if lowered.startswith(b"message-id") else lowered.find(b"\nmessage-id")
    found = _MESSAGE_ID.match(lowered, max(start, 0)) if start >= 0 else None
    if not found:
        return ""
    value = head[found.start(1):found.end(1)]  # as written, not lower-cased
    return " ".join(value.decode("ascii", "replace").split())[:998]


def archive(arrival: Arrival, raws: Sequence[bytes]) -> int:
    """Append each of ``raws`` not yet archived for ``arrival.mailbox_id`` to the journal, in
    the caller's transaction. Returns how many entries were written. Raises
    :class:`ArchiveWriteFailed` when the database or the storage refuses."""
    written, finish = archive_started(arrival, raws)
    finish()
    return written


def archive_started(arrival: Arrival, raws: Sequence[bytes]) -> tuple[int, Callable[[], None]]:
    """:func:`archive`, with the storage's write left to the returned call, which the caller
    must make before it commits (the bytes are compressed meanwhile, while the caller writes
    its own rows). Returns how many entries were written and that call."""
    if not raws:
        return 0, _nothing_to_finish
    written, put = _guarded(_append, arrival, raws)
    return written, lambda: _guarded(put)


def archive_alongside(arrival: Arrival, raws: Sequence[bytes]) -> Callable[[], None]:
    """:func:`archive` in a transaction of its own, on a thread of its own, committed while the
    caller writes its own rows; the returned call waits for that commit and raises
    :class:`ArchiveWriteFailed` if it failed. The caller makes it before it commits, so its rows
    are never committed without their entries (a caller that fails after the entries were
    committed leaves them in place: the mail is fetched again and found archived).

    Only for a database where two transactions write at once (``_state.concurrent_writers``)."""
    if not raws:
        return _nothing_to_finish
    app = current_app._get_current_object()
    committed = _journal_threads.get().submit(_archive_committed, app, arrival, list(raws))

    def finish() -> None:
        committed.result()
    return finish


def _archive_committed(app, arrival: Arrival, raws: list[bytes]) -> int:
    with app.app_context():  # its own session and connection, removed when the context ends
        session = mail_state().db.session
        try:
            written = archive(arrival, raws)
            _guarded(session.commit)
        except BaseException:
            session.rollback()
            raise
        return written


_journal_threads = ProcessPool(2, "tricoma-archive-journal")


def _nothing_to_finish() -> None:
    return None


def _guarded(call, *args):
    try:
        return call(*args)
    except (SQLAlchemyError, OSError) as error:
        raise ArchiveWriteFailed(detail=f"{type(error).__name__}: {error}") from error


def _append(arrival: Arrival, raws: Sequence[bytes]) -> tuple[int, Callable[[], None]]:
    session = mail_state().db.session
    by_hash: dict[str, bytes] = {}
    for raw in raws:
        by_hash.setdefault(content_hash(raw), raw)
    _take_turn(session)
    same_mailbox = (ArchiveEntry.mailbox_id.is_(None) if arrival.mailbox_id is None
                    else ArchiveEntry.mailbox_id == arrival.mailbox_id)
    known = set(session.scalars(select(ArchiveEntry.sha256).where(
        same_mailbox, one_of(session, ArchiveEntry.sha256, list(by_hash)))))
    fresh = {sha: raw for sha, raw in by_hash.items() if sha not in known}
    if not fresh:
        return 0, _nothing_to_finish
    put = archive_storage().put_started(fresh)
    prev = session.scalar(select(ArchiveEntry.entry_hash).order_by(ArchiveEntry.id.desc()).limit(1)) or GENESIS
    now = utcnow()
    rows = []
    for sha, raw in fresh.items():
        row = {"archived_at": now, "mailbox_id": arrival.mailbox_id, "mailbox_address": arrival.mailbox_address,
               "folder": arrival.folder, "direction": arrival.direction, "source": arrival.source,
               "message_id": message_id_of(raw), "size": len(raw), "sha256": sha, "prev_hash": prev}
        prev = row["entry_hash"] = entry_hash(prev, now, arrival.mailbox_id, arrival.mailbox_address, arrival.folder,
                                              arrival.direction, arrival.source, row["message_id"], len(raw), sha)
        rows.append(row)
    insert_rows(session, ArchiveEntry.__table__, rows)  # one round trip, no ORM bookkeeping per row
    return len(rows), put


def _take_turn(session) -> None:
    """Hold the chain's lock row until the caller's transaction ends (made on first use)."""
    lock = ArchiveChainLock.__table__  # a Core statement: the ORM's bulk UPDATE costs more than the write
    bump = update(lock).where(lock.c.id == 1).values(appends=lock.c.appends + 1)
    if session.execute(bump).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(ArchiveChainLock(id=1, appends=0))
    except IntegrityError:
        pass  # another process made it first
    session.execute(bump)
