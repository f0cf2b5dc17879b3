"""Changing mail on the server: flags, copy, move, delete (always to Trash) and the only
permanent deletes (inside Trash, and emptying Trash).

Moves and permanent deletes write a :class:`MailIntent` before the server is touched and mark it
done after; ``recover_intents`` finishes whatever an interrupted process left pending, so a
message never ends up lost or in two places. Never a bare EXPUNGE: only ``UID MOVE`` or
``UID EXPUNGE`` of exactly the UIDs meant.

Each change records its event (``flags_changed``, ``moved``, ``deleted``) in the transaction
that updates the cache (for moves and deletes: the one that marks the intent done, also when
``recover_intents`` finishes it) and delivers it after the commit.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from flask_babel import gettext as _
from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from .._state import mail_state
from ..cache_versions import forget_versions
from ..errors import FolderNotFound, InvalidSettings, MessageNotFound
from ..events.outbox import deliver_after_commit, record_event
from ..mailboxes.backend import MailboxBackend
from ..mailboxes.folders import resolve_folder
from ..mailboxes.server_folders import folder_for_role
from ..models import CachedFolder, CachedMessage, Mailbox, MailIntent, utcnow
from . import sync


def _session():
    return mail_state().db.session


def cached_folder(mailbox: Mailbox, name: str) -> CachedFolder:
    folder = _session().scalar(select(CachedFolder).where(
        CachedFolder.mailbox_id == mailbox.id, CachedFolder.name == name))
    if folder is None:
        raise MessageNotFound()
    return folder


def _select_checked(backend: MailboxBackend, folder: CachedFolder) -> None:
    status = backend.select(folder.name, readonly=False)
    if folder.uidvalidity is not None and status.uidvalidity != folder.uidvalidity:
        # Our UIDs no longer name the same messages: refuse rather than touch the wrong mail.
        raise MessageNotFound(_("The folder changed on the server; it is being read again."))


def _uids(values: Iterable[int]) -> list[int]:
    uids = sorted({int(uid) for uid in values})
    if not uids or uids[0] <= 0 or uids[-1] >= 2**32:
        raise MessageNotFound()
    return uids


def set_flags(mailbox: Mailbox, backend: MailboxBackend, folder_name: str, uids: Iterable[int],
              add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
    """Add and remove flags (``\\Seen``, ``\\Flagged``, ``\\Answered``, keywords) on the server
    and in the cache."""
    folder = cached_folder(mailbox, folder_name)
    uids = _uids(uids)
    _select_checked(backend, folder)
    backend.set_flags(uids, add, remove)
    session = _session()
    message_ids = {}
    for row in session.scalars(select(CachedMessage).where(
            CachedMessage.folder_id == folder.id, CachedMessage.uid.in_(uids))):
        flags = (set(row.flags.split()) | set(add)) - set(remove)
        row.flags = " ".join(sorted(flags))
        row.seen, row.flagged = "\\Seen" in flags, "\\Flagged" in flags
        message_ids[row.uid] = row.message_id
    session.flush()
    sync.recount_folder(folder)
    record_event("flags_changed", mailbox.id, {
        "folder": folder.name, "uids": uids, "message_ids": [message_ids.get(uid, "") for uid in uids],
        "added": list(add), "removed": list(remove)})
    session.commit()
    forget_versions()  # the rest of the request (the reading page's unread counts) sees the change
    deliver_after_commit()


def copy(mailbox: Mailbox, backend: MailboxBackend, folder_name: str, uids: Iterable[int], target: str) -> dict[int, int]:
    folder = cached_folder(mailbox, folder_name)
    uids = _uids(uids)
    _select_checked(backend, folder)
    mapping = backend.copy(uids, target)
    sync.sync_folder(mailbox, backend, target)
    return mapping


def move(mailbox: Mailbox, backend: MailboxBackend, folder_name: str, uids: Iterable[int], target: str) -> dict[int, int]:
    """Move messages to ``target``; returns old UID → new UID where the server tells."""
    return _move(mailbox, backend, folder_name, uids, target, trash=None)


def _move(mailbox: Mailbox, backend: MailboxBackend, folder_name: str, uids: Iterable[int], target: str,
          trash: str | None) -> dict[int, int]:
    folder = cached_folder(mailbox, folder_name)
    uids = _uids(uids)
    if target == folder_name:
        return {}
    intent = _begin(mailbox, folder, "move", uids, target)
    _select_checked(backend, folder)
    try:
        mapping = backend.move(uids, target)
    except FolderNotFound:
        _finish(intent, "undone")  # the server refused the target (gone meanwhile): nothing moved
        raise
    _complete(mailbox, intent, folder, trash)
    sync.sync_folder(mailbox, backend, target)
    return mapping


def delete(mailbox: Mailbox, backend: MailboxBackend, folder_name: str, uids: Iterable[int]) -> tuple[str, dict[int, int]]:
    """Delete = move to the mailbox's Trash (created if missing). Returns the Trash folder and the
    new UIDs there, for undo. Inside Trash use :func:`delete_permanently`."""
    trash = folder_for_role(mailbox, backend, "trash", create=True)
    if folder_name == trash:
        raise InvalidSettings(_("Messages in Trash are deleted for good only after you confirm."))
    return trash, _move(mailbox, backend, folder_name, uids, trash, trash=trash)


def delete_permanently(mailbox: Mailbox, backend: MailboxBackend, folder_name: str, uids: Iterable[int]) -> None:
    """Delete messages for good. Allowed only inside the mailbox's Trash."""
    trash = folder_for_role(mailbox, backend, "trash", create=True)
    if folder_name != trash:
        raise InvalidSettings(_("Only messages in Trash can be deleted for good."))
    folder = cached_folder(mailbox, folder_name)
    uids = _uids(uids)
    intent = _begin(mailbox, folder, "expunge", uids, None)
    _select_checked(backend, folder)
    backend.expunge(uids)
    _complete(mailbox, intent, folder, trash)


def empty_trash(mailbox: Mailbox, backend: MailboxBackend) -> int:
    """Delete every message in Trash for good (exactly the UIDs there now). Returns how many."""
    trash = folder_for_role(mailbox, backend, "trash", create=True)
    sync.sync_folder(mailbox, backend, trash)
    folder = cached_folder(mailbox, trash)
    _select_checked(backend, folder)
    uids = backend.search_uids()
    if not uids:
        return 0
    intent = _begin(mailbox, folder, "expunge", uids, None)
    backend.expunge(uids)
    _complete(mailbox, intent, folder, trash)
    return len(uids)


def recover_intents(mailbox: Mailbox, backend: MailboxBackend) -> int:
    """Finish every pending move or permanent delete of ``mailbox``. Returns how many. One whose
    source or target folder is gone from the server is undone: its messages stay where they are
    (or went with their folder), and the sync goes on."""
    session = _session()
    pending = list(session.scalars(select(MailIntent).where(
        MailIntent.mailbox_id == mailbox.id, MailIntent.state == "pending").order_by(MailIntent.id)))
    # The server's list, not the cache's: a Trash created by the interrupted delete is on it.
    trash = resolve_folder(mailbox, "trash", backend.list_folders()) if pending else None
    for intent in pending:
        try:
            status = backend.select(intent.source, readonly=False)
            if status.uidvalidity != intent.uidvalidity:
                _finish(intent, "undone")  # the folder was recreated: its old UIDs mean nothing now
                continue
            remaining = [uid for uid in backend.search_uids() if uid in set(intent.uids)]
            if intent.operation == "expunge":
                backend.expunge(remaining)
            elif remaining:
                _complete_move(backend, intent, remaining)
        except FolderNotFound:
            # Deleted meanwhile (here or by another mail program): left pending, the move
            # would stop every later sync of the mailbox on the same error.
            _finish(intent, "undone")
            continue
        folder = session.scalar(select(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox.id, CachedFolder.name == intent.source))
        _complete(mailbox, intent, folder, trash)
    return len(pending)


def _complete_move(backend: MailboxBackend, intent: MailIntent, remaining: list[int]) -> None:
    """The move stopped half-way: messages already copied to the target are removed from the
    source; the others are moved now. Copies are recognised by Message-ID."""
    ids_by_uid = dict(zip(intent.uids, intent.message_ids))
    backend.select(intent.target, readonly=True)
    in_target = set()
    for uid in remaining:
        message_id = ids_by_uid.get(uid)
        if message_id and backend.search_header("Message-ID", message_id):
            in_target.add(uid)
    backend.select(intent.source, readonly=False)
    if in_target:
        backend.expunge(sorted(in_target))
    rest = [uid for uid in remaining if uid not in in_target]
    if rest:
        backend.move(rest, intent.target)


def _begin(mailbox: Mailbox, folder: CachedFolder, operation: str, uids: list[int], target: str | None) -> MailIntent:
    session = _session()
    ids = dict(session.execute(select(CachedMessage.uid, CachedMessage.message_id).where(
        CachedMessage.folder_id == folder.id, CachedMessage.uid.in_(uids))).all())
    intent = MailIntent(mailbox_id=mailbox.id, operation=operation, source=folder.name, target=target,
                        uidvalidity=folder.uidvalidity or 0, uids=uids,
                        message_ids=[ids.get(uid, "") for uid in uids], state="pending")
    session.add(intent)
    session.commit()
    return intent


def _finish(intent: MailIntent, state: str = "done") -> None:
    intent.state = state
    intent.finished_at = utcnow()
    _session().commit()


def _complete(mailbox: Mailbox, intent: MailIntent, folder: CachedFolder | None, trash: str | None) -> None:
    """The server has done ``intent``: drop its messages from the cache of ``folder``, mark it
    done and record its event, in one transaction; then deliver the event."""
    session = _session()
    if folder is not None:
        session.execute(sql_delete(CachedMessage).where(
            CachedMessage.folder_id == folder.id, CachedMessage.uid.in_(list(intent.uids))))
        sync.recount_folder(folder)
    intent.state = "done"
    intent.finished_at = utcnow()
    record_event(*_event_of(mailbox, intent, trash))
    session.commit()
    deliver_after_commit()


def _event_of(mailbox: Mailbox, intent: MailIntent, trash: str | None) -> tuple[str, int, dict]:
    """``deleted`` for a permanent delete and for a move into Trash, else ``moved``."""
    moved = {"folder": intent.source, "uids": list(intent.uids), "message_ids": list(intent.message_ids)}
    if intent.operation == "expunge":
        return "deleted", mailbox.id, {**moved, "permanent": True, "trash": None}
    trash = trash or resolve_folder(mailbox, "trash", sync.cached_folders(mailbox))
    if intent.target == trash:
        return "deleted", mailbox.id, {**moved, "permanent": False, "trash": trash}
    return "moved", mailbox.id, {**moved, "target": intent.target}
