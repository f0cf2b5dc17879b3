"""Server → local cache: folders, message summaries and flags, by checkpoints.

Per folder the checkpoint ``(uidvalidity, uidnext, highestmodseq)`` is committed in the same
transaction as the rows it covers, so a sync that dies at any point resumes where the last
commit left off: no duplicates (UIDs below the checkpoint are never fetched again as new), no
gaps (flags and expunges are rechecked from the last complete pass).
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Callable, Iterable, Sequence

from flask import current_app
from sqlalchemy import and_, bindparam, delete, func, select, update

from .._state import concurrent_writers, mail_state
from ..archive.arrivals import archive_synced, journals_folder
from ..bulk_insert import insert_ignoring_duplicates, insert_values
from ..events.outbox import RecordedEvents, deliver_recorded, record_events, sync_events_owner
from ..events.received import received_references
from ..mailboxes.backend import FetchedBatch, FolderStatus, MailboxBackend, MessageSummary
from ..mailboxes.folders import Folder
from ..mime.headers import sender_sort_key
from ..models import CachedFolder, CachedMessage, Mailbox, utcnow
from .collection_pause import collect_young_when_due, collection_paused
from .lease import holds_sync_lease

log = logging.getLogger(__name__)

BATCH_SIZE = 500
WRITER_FROM = BATCH_SIZE + 1  # new messages from which a thread of its own stores the batches
Progress = Callable[[str, int, int], None]  # folder, done, total


@dataclass(frozen=True)
class FolderSyncResult:
    folder: str
    new: int = 0
    flag_changes: int = 0
    expunged: int = 0
    rebuilt: bool = False
    unchanged: bool = False
    seconds: float = 0.0


def _session():
    return mail_state().db.session


def refresh_folders(mailbox: Mailbox, backend: MailboxBackend) -> list[CachedFolder]:
    """Mirror the server's folder list (names, delimiters, flags); drops folders that are gone."""
    session = _session()
    listed = {folder.name: folder for folder in backend.list_folders()}
    cached = {row.name: row for row in session.scalars(
        select(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id))}
    for name, row in cached.items():
        if name not in listed:
            session.delete(row)
    missing = [name for name in listed if name not in cached]
    if missing:
        _insert_folders(session, mailbox.id, missing)
        cached.update((row.name, row) for row in session.scalars(
            select(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id, CachedFolder.name.in_(missing))))
    for name, folder in listed.items():
        row = cached[name]
        row.delimiter = folder.delimiter
        row.flags = list(folder.flags)
        row.special_use = folder.special_use
    session.commit()
    return list(session.scalars(
        select(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id).order_by(CachedFolder.name)))


def cached_folders(mailbox: Mailbox) -> list[Folder]:
    """The folders as last listed, as :class:`Folder` values with their cached counts."""
    rows = _session().scalars(
        select(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id).order_by(CachedFolder.name))
    return [Folder(row.name, row.delimiter, tuple(row.flags or ()), row.special_use, row.messages, row.unseen)
            for row in rows]


def sync_mailbox(mailbox: Mailbox, backend: MailboxBackend, folders: Iterable[str] | None = None,
                 progress: Progress | None = None) -> list[FolderSyncResult]:
    """Sync the folder list, then every selectable folder (or only ``folders``)."""
    rows = refresh_folders(mailbox, backend)
    wanted = set(folders) if folders is not None else None
    results = []
    for row in rows:
        if wanted is not None and row.name not in wanted:
            continue
        if any(flag.lower() == "\\noselect" for flag in row.flags or ()):
            continue
        results.append(sync_folder(mailbox, backend, row.name, progress))
    return results


def sync_folder(mailbox: Mailbox, backend: MailboxBackend, name: str,
                progress: Progress | None = None) -> FolderSyncResult:
    """Bring the cache of one folder in line with the server."""
    started = time.perf_counter()
    session = _session()
    find = select(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id, CachedFolder.name == name)
    folder = session.scalar(find)
    if folder is None:
        _insert_folders(session, mailbox.id, [name])
        folder = session.scalar(find)
    status = backend.select(name)
    folder.server_messages = status.messages
    rebuilt = False
    if folder.uidvalidity is not None and folder.uidvalidity != status.uidvalidity:
        # The server renumbered the folder: nothing cached for it can be trusted.
        session.execute(delete(CachedMessage).where(CachedMessage.folder_id == folder.id))
        folder.uidvalidity = None
        rebuilt = True
    if folder.uidvalidity is None:
        folder.uidvalidity = status.uidvalidity
        folder.uidnext = 1
        folder.highestmodseq = None
        session.commit()

    if _unchanged(folder, status):
        folder.synced_at = utcnow()
        session.commit()
        return FolderSyncResult(name, unchanged=True, seconds=time.perf_counter() - started)

    flag_changes, expunged = _apply_changes(folder, status, backend)
    new = _fetch_new(mailbox, folder, status, backend, progress)
    if status.highestmodseq is None or folder.messages != status.messages:
        expunged += _remove_expunged(folder, backend)  # safety net when counts disagree
    folder.uidnext = status.uidnext
    folder.highestmodseq = status.highestmodseq
    recount_folder(folder)
    folder.synced_at = utcnow()
    session.commit()
    return FolderSyncResult(name, new, flag_changes, expunged, rebuilt, False, time.perf_counter() - started)


def _unchanged(folder: CachedFolder, status: FolderStatus) -> bool:
    return (
        status.highestmodseq is not None
        and folder.highestmodseq == status.highestmodseq
        and folder.uidnext == status.uidnext
        and folder.messages == status.messages
    )


def _apply_changes(folder: CachedFolder, status: FolderStatus, backend: MailboxBackend) -> tuple[int, int]:
    """Flags and expunges of the messages already cached."""
    session = _session()
    if not folder.messages and folder.highestmodseq is None:
        return 0, 0
    known_uids: Sequence[int] = ()
    if folder.highestmodseq is None or status.highestmodseq is None:
        known_uids = list(session.scalars(select(CachedMessage.uid).where(CachedMessage.folder_id == folder.id)))
    changes = backend.changes_since(status, folder.highestmodseq, known_uids)
    rows = [
        {"f": folder.id, "u": change.uid, "flags": " ".join(change.flags),
         "seen": "\\Seen" in change.flags, "flagged": "\\Flagged" in change.flags, "modseq": change.modseq}
        for change in changes.flag_changes
    ]
    if rows:
        table = CachedMessage.__table__

        session.execute(
            update(table)
            .where(and_(table.c.folder_id == bindparam("f"), table.c.uid == bindparam("u")))
            .values(flags=bindparam("flags"), seen=bindparam("seen"), flagged=bindparam("flagged"),
                    modseq=bindparam("modseq")),
            rows,
            execution_options={"synchronize_session": False},
        )
    expunged = 0
    if changes.vanished is not None:
        expunged = _delete_uids(folder, changes.vanished)
    elif known_uids:
        expunged = _remove_expunged(folder, backend, known_uids)
    folder.messages = max((folder.messages or 0) - expunged, 0)  # recounted at the end of the sync
    session.commit()
    return len(rows), expunged


def _remove_expunged(folder: CachedFolder, backend: MailboxBackend, known_uids: Sequence[int] | None = None) -> int:
    session = _session()
    if known_uids is None:
        known_uids = list(session.scalars(select(CachedMessage.uid).where(CachedMessage.folder_id == folder.id)))
    on_server = set(backend.search_uids())
    gone = [uid for uid in known_uids if uid not in on_server]
    return _delete_uids(folder, gone)


def _delete_uids(folder: CachedFolder, uids: Sequence[int]) -> int:
    if not uids:
        return 0
    session = _session()
    deleted = 0
    for offset in range(0, len(uids), BATCH_SIZE):
        chunk = list(uids[offset:offset + BATCH_SIZE])
        result = session.execute(
            delete(CachedMessage).where(CachedMessage.folder_id == folder.id, CachedMessage.uid.in_(chunk)))
        deleted += result.rowcount or 0
    return deleted


def _fetch_new(mailbox: Mailbox, folder: CachedFolder, status: FolderStatus, backend: MailboxBackend,
               progress: Progress | None) -> int:
    """Fetch summaries of UIDs from the checkpoint up to the UIDNEXT seen at SELECT, in batches,
    each stored by :func:`store_new_messages`."""
    if status.uidnext and folder.uidnext and folder.uidnext >= status.uidnext:
        return 0
    limit = status.uidnext or 2**32
    new_uids = [uid for uid in backend.search_uids(folder.uidnext or 1) if uid < limit]
    total, done, name = len(new_uids), 0, folder.name
    if progress:
        progress(name, 0, total)
    # The backend pipelines: the server reads and sends the next batch while this one is stored.
    batches = backend.fetch_summary_batches(new_uids, BATCH_SIZE, with_bytes=journals_folder(folder))
    owner = _events_owner(mailbox.id)
    if total < WRITER_FROM or not _own_connections_possible():
        for batch in batches:
            store_new_messages(mailbox, folder, batch, owner)
            done += len(batch.uids)
            if progress:
                progress(name, done, total)
        return total
    _session().commit()  # the writer below updates the folder's row: hold no lock on it here
    with collection_paused(), \
            _BatchWriter(mailbox.id, folder.id, owner, deliver_aside=concurrent_writers()) as writer:
        for batch in batches:  # reads and parses the next batch while the writer stores this one
            stored = writer.store(batch)
            if stored is not None:
                done += stored
                if progress:
                    progress(name, done, total)
            collect_young_when_due()
        done += writer.finish()
    if progress:
        progress(name, done, total)
    _session().commit()  # ends any snapshot of this session: the writer moved the checkpoint and count
    return total


def _events_owner(mailbox_id: int) -> str | None:
    """Who holds the events this sync records, from their INSERT until they are delivered right
    after each commit (no claim per batch): under the mailbox's sync lease, its sync, so should
    the process stop in between, the next sync takes them over at once (refresh.run_sync).
    Without the lease (an action syncing its target folder, beside the lease's holder maybe) no
    one: its events are stored free and claimed after the commit, so a stop in between leaves
    them to the next delivery run, not to a lease."""
    return sync_events_owner(mailbox_id) if holds_sync_lease(mailbox_id) else None


def _own_connections_possible() -> bool:
    """Whether a second thread gets a connection of its own (not so for an in-memory SQLite
    database, whose one connection the pool shares)."""
    url = _session().get_bind().url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class _BatchWriter:
    """Stores fetched batches (:func:`store_new_messages`) in a thread of its own, with its own
    app context and so its own session and connection, one batch at a time: while it writes,
    commits and delivers a batch, the sync's thread reads and parses the next (the database's
    and the interpreter's waits overlap; zlib, SQLite and the sockets let go of the interpreter
    lock). Each batch is still committed alone with its checkpoint, in order; the first error
    stops the writer and is raised in the sync's thread.

    With ``deliver_aside`` (a database with concurrent writers) a third thread, again with a
    context, session and connection of its own, delivers each committed batch's events (lease,
    hooks, "delivered" mark: the database's work on rows the writer does not touch) while the
    writer stores the next batch. Deliveries stay in order, one at a time; an error in one is
    raised in the writer's thread at its next batch, or by :meth:`finish`."""

    def __init__(self, mailbox_id: int, folder_id: int, events_owner: str | None = None,
                 deliver_aside: bool = False) -> None:
        self._ids = (mailbox_id, folder_id)
        self._events_owner = events_owner
        app = current_app._get_current_object()
        self._context = app.app_context()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tricoma-sync-store",
                                        initializer=self._start_writer)
        self._pending: Future | None = None
        self._rows: tuple[Mailbox, CachedFolder] | None = None  # the writer's own, loaded in its thread
        self._deliverer: ThreadPoolExecutor | None = None
        self._delivery: Future | None = None
        if deliver_aside:
            self._delivery_context = app.app_context()  # not the writer's: its own session
            self._deliverer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tricoma-sync-deliver",
                                                 initializer=self._delivery_context.push)

    def _start_writer(self) -> None:
        self._context.push()
        if self._deliverer is not None:
            _delivered_aside.writer = self

    def deliver(self, recorded: RecordedEvents, received: list[MessageSummary]) -> None:
        """In the writer's thread, after a batch's commit: hand its events to the delivering
        thread once the batch before it is delivered."""
        self._wait_for_delivery()
        self._delivery = self._deliverer.submit(_deliver, recorded, received)

    def _wait_for_delivery(self) -> None:
        delivery, self._delivery = self._delivery, None
        if delivery is not None:
            delivery.result()

    def __enter__(self) -> _BatchWriter:
        return self

    def store(self, batch: FetchedBatch) -> int | None:
        """Hand ``batch`` over once the one before it is stored; how many UIDs that one settled
        (``None`` for the first)."""
        settled = self._wait()
        self._pending = self._pool.submit(self._store, batch)
        return settled

    def finish(self) -> int:
        """Wait for the last batch (and its delivery); how many UIDs it settled."""
        settled = self._wait() or 0
        if self._deliverer is not None:
            self._pool.submit(self._wait_for_delivery).result()
        return settled

    def _wait(self) -> int | None:
        pending, self._pending = self._pending, None
        return pending.result() if pending is not None else None

    def _store(self, batch: FetchedBatch) -> int:
        if self._rows is None:  # in the writer's thread, its session
            session = _session()()  # the scoped session's Session: the writer's own
            # Only this sync changes the folder's row (it holds the mailbox's sync lease): the
            # mailbox and the folder need no reload after each commit.
            session.expire_on_commit = False
            mailbox_id, folder_id = self._ids
            self._rows = (session.get(Mailbox, mailbox_id), session.get(CachedFolder, folder_id))
        store_new_messages(*self._rows, batch, self._events_owner)
        return len(batch.uids)

    def __exit__(self, *exc_info) -> None:
        try:
            if self._pending is not None:  # an error in the sync's thread: let the writer finish its batch
                self._pending.exception()
        finally:
            try:
                if self._deliverer is not None:  # and the delivering thread its delivery
                    if self._delivery is not None:
                        self._delivery.exception()
                    self._deliverer.submit(self._delivery_context.pop).result()
                    self._deliverer.shutdown()
            finally:
                self._pool.submit(self._stop_writer).result()  # rolls back and closes the writer's session
                self._pool.shutdown()

    def _stop_writer(self) -> None:
        _delivered_aside.writer = None
        self._context.pop()


_delivered_aside = threading.local()  # .writer: the _BatchWriter whose thread this is, when it delivers aside


def _deliver(recorded: RecordedEvents, received: list[MessageSummary]) -> None:
    deliver_recorded(recorded, received)  # looked up when called (tests replace it)


def store_new_messages(mailbox: Mailbox, folder: CachedFolder, batch: FetchedBatch,
                       events_owner: str | None = None) -> None:
    """Where new messages enter the cache: one fetched batch is stored, journaled (with the
    archive on: docs/archive.md) and committed with its checkpoint and a ``received`` event per
    message this call stored; the events are then delivered from the values in memory (by the
    batch writer's delivering thread when it has one, while it stores the next batch). With
    ``events_owner`` (a sync under the mailbox's sync lease: :func:`_events_owner`) the events are
    stored leased to it and delivered unclaimed."""
    session = _session()
    summaries = batch.summaries
    store_archived = archive_synced(mailbox, folder, batch.raws) if batch.raws is not None else None
    stored = _insert_new(session, folder.id, summaries) if summaries else set()
    folder.uidnext = batch.uids[-1] + 1
    folder.messages = (folder.messages or 0) + len(summaries)
    received = [summary for summary in summaries if summary.uid in stored]
    recorded = record_events("received", mailbox.id, received_references(folder, received), events_owner)
    if store_archived:
        store_archived()  # the journal's bytes, compressed while the rows above were written
    session.commit()
    writer = getattr(_delivered_aside, "writer", None)
    if writer is not None:
        writer.deliver(recorded, received)
    else:
        deliver_recorded(recorded, received)


def _insert_folders(session, mailbox_id: int, names: list[str]) -> None:
    """Add folders to the cache; one that another sync (or an operation's) stored meanwhile is
    kept as it is, so two syncs meeting over a new folder never collide."""
    session.execute(insert_ignoring_duplicates(session, CachedFolder.__table__), [{"mailbox_id": mailbox_id, "name": name, "messages": 0, "unseen": 0, "flags": []}
                                for name in names])


def _insert_new(session, folder_id: int, summaries: Sequence[MessageSummary]) -> set[int]:
    """Insert summaries; a row another sync of the same folder stored meanwhile is kept as is.
    Returns the UIDs this call stored. One round trip per batch (bulk_insert)."""
    table = CachedMessage.__table__
    rows = [_row(folder_id, summary) for summary in summaries]
    return set(insert_values(session, table, _ROW_COLUMNS, rows, ignore_conflicts=True, returning=table.c.uid))


_COLUMN_NAMES = {attribute.key: attribute.columns[0].name
                 for attribute in CachedMessage.__mapper__.column_attrs}

_SUMMARY_FIELDS = tuple(field.name for field in fields(MessageSummary) if field.name != "flags")
_summary_values = itemgetter(*_SUMMARY_FIELDS)  # of a summary's vars()
_DATE = _SUMMARY_FIELDS.index("date")
# The columns of :func:`_row`'s values, in their order.
_ROW_COLUMNS = (*(_COLUMN_NAMES[name] for name in _SUMMARY_FIELDS), "folder_id", "flags", "seen", "flagged",
                "sender_sort")


def _row(folder_id: int, summary: MessageSummary) -> list:
    """The cached message's row: its values in the order of ``_ROW_COLUMNS`` (a sync makes one
    per new message: no dict)."""
    row = [*_summary_values(vars(summary)), folder_id]
    if summary.date is None:
        row[_DATE] = summary.internal_date  # lists sort by it; never leave it empty
    flags = summary.flags
    row += (" ".join(flags), "\\Seen" in flags, "\\Flagged" in flags, sender_sort_key(summary.from_))
    return row


def recount_folder(folder: CachedFolder) -> None:
    session = _session()
    total, unseen = session.execute(
        select(func.count(), func.count().filter(CachedMessage.seen.is_(False)))
        .where(CachedMessage.folder_id == folder.id)
    ).one()
    folder.messages, folder.unseen = total, unseen


@dataclass(frozen=True)
class SyncProgress:
    """How far the local cache of a mailbox is: for the "synchronising…" notice."""

    cached: int  # messages in the cache
    on_server: int  # messages the server reported when each folder was last selected
    running: bool  # a process holds the mailbox's sync lease right now
    never_synced: bool

    @property
    def complete(self) -> bool:
        return not self.never_synced and self.cached >= self.on_server


def sync_progress(mailbox: Mailbox) -> SyncProgress:
    session = _session()
    cached, on_server, folders = session.execute(
        select(func.coalesce(func.sum(CachedFolder.messages), 0),
               func.coalesce(func.sum(func.coalesce(CachedFolder.server_messages, CachedFolder.messages)), 0),
               func.count(CachedFolder.id))
        .where(CachedFolder.mailbox_id == mailbox.id)).one()
    lease = mailbox.sync_lease_until
    return SyncProgress(int(cached), int(on_server), bool(lease and lease > utcnow()),
                        never_synced=folders == 0 or mailbox.last_sync_at is None)
