"""What a user does to chosen messages of a mailbox: mark read or unread, flag, move, delete to
Trash and undo that, delete for good inside Trash, empty Trash (SPEC M8, M9).

Messages are named by their cache ids; every function checks the user's right on the mailbox
first and only touches messages that belong to it (ids of another mailbox are ignored, so they
reveal nothing). The server work is done by :mod:`operations`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from .._state import mail_state
from ..cache import intents, sync
from ..errors import FolderNotFound, InvalidSettings, MessageNotFound
from ..mailboxes.backend import MailboxBackend
from ..mailboxes.folders import resolve_folder
from ..mailboxes.server_folders import folder_for_role
from ..mailboxes.service import backend_for, connected_backend
from ..models import CachedFolder, CachedMessage, Mailbox, is_row_id
from ..rights import access

#: action name -> (flags to add, flags to remove)
FLAG_ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "read": (("\\Seen",), ()),
    "unread": ((), ("\\Seen",)),
    "flag": (("\\Flagged",), ()),
    "unflag": ((), ("\\Flagged",)),
}


@dataclass(frozen=True)
class DeletedBatch:
    """Messages of one folder moved to Trash: enough to move them back."""

    source: str
    uids_in_trash: tuple[int, ...]
    message_ids: tuple[str, ...] = ()  # to find them in Trash when the server named no UIDs


@dataclass(frozen=True)
class UndoDelete:
    """What :func:`delete` did, for :func:`undo_delete`."""

    mailbox_id: int
    trash: str
    batches: tuple[DeletedBatch, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return sum(max(len(b.uids_in_trash), len(b.message_ids)) for b in self.batches)

    def to_dict(self) -> dict:
        return {"mailbox_id": self.mailbox_id, "trash": self.trash,
                "batches": [[b.source, list(b.uids_in_trash), list(b.message_ids)] for b in self.batches]}

    @classmethod
    def from_dict(cls, data: dict) -> "UndoDelete":
        batches = tuple(DeletedBatch(str(source), tuple(int(uid) for uid in uids), tuple(str(m) for m in ids))
                        for source, uids, ids in data["batches"])
        return cls(int(data["mailbox_id"]), str(data["trash"]), batches)


def _session():
    return mail_state().db.session


def by_folder(mailbox: Mailbox, message_pks: Iterable[int]) -> dict[str, list[CachedMessage]]:
    """The cached messages among ``message_pks`` that belong to ``mailbox``, per folder name."""
    pks = sorted({int(pk) for pk in message_pks if is_row_id(int(pk))})
    if not pks:
        return {}
    grouped: dict[str, list[CachedMessage]] = {}
    rows = _session().execute(
        select(CachedMessage, CachedFolder.name).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedMessage.id.in_(pks), CachedFolder.mailbox_id == mailbox.id))
    for message, folder in rows:
        grouped.setdefault(folder, []).append(message)
    return grouped


def _chosen(user, mailbox_id: int, right: str, message_pks: Iterable[int]):
    mailbox = access.require(user, mailbox_id, right)
    grouped = by_folder(mailbox, message_pks)
    if not grouped:
        raise MessageNotFound()
    return mailbox, grouped


def set_flags(user, mailbox_id: int, message_pks: Iterable[int], action: str,
              backend: MailboxBackend | None = None) -> int:
    """Apply a flag action (``read``, ``unread``, ``flag``, ``unflag``). Needs *write*: flags
    live on the server and every user of the mailbox sees them."""
    add, remove = FLAG_ACTIONS[action]
    mailbox, grouped = _chosen(user, mailbox_id, "write", message_pks)
    with connected_backend(mailbox, backend) as connected:
        for folder, messages in grouped.items():
            intents.set_flags(mailbox, connected, folder, [m.uid for m in messages], add, remove)
    return sum(len(messages) for messages in grouped.values())


READ_ALL_BATCH = 5_000  # messages "Mark all as read" changes per flag change


def mark_folder_read(user, mailbox_id: int, folder_name: str, backend: MailboxBackend | None = None) -> int:
    """Mark every unread message of a folder as read (Thunderbird's and Roundcube's "Mark all as
    read"), on the server and in the cache, in flag changes of at most ``READ_ALL_BATCH``
    messages (a commit and an event each). The folder is synced first, so mail that reached the
    server since the last sync is read too. Needs *write*. Returns how many were unread."""
    mailbox = access.require(user, mailbox_id, "write")
    folder = _session().scalar(select(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id,
                                                          CachedFolder.name == folder_name))
    if folder is None:
        raise FolderNotFound()
    add, remove = FLAG_ACTIONS["read"]
    with connected_backend(mailbox, backend) as connected:
        sync.sync_folder(mailbox, connected, folder_name)
        uids = list(_session().scalars(select(CachedMessage.uid).where(
            CachedMessage.folder_id == folder.id, CachedMessage.seen.is_(False)).order_by(CachedMessage.uid)))
        for start in range(0, len(uids), READ_ALL_BATCH):
            intents.set_flags(mailbox, connected, folder_name, uids[start:start + READ_ALL_BATCH], add, remove)
    return len(uids)


def act_across(user, chosen: dict[int, list[int]], action: str) -> tuple[int, list[UndoDelete]]:
    """A flag action or delete on messages of several mailboxes (the unified inbox). Every
    mailbox's right and every message is checked before anything changes: one id the user may
    not use refuses the whole request. Returns the count done and the undo of each delete."""
    if action != "delete" and action not in FLAG_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    chosen_across(user, chosen, "delete" if action == "delete" else "write")
    done, undos = 0, []
    for mailbox_id, pks in chosen.items():
        if action == "delete":
            undo = delete(user, mailbox_id, pks)
            undos.append(undo)
            done += undo.count
        else:
            done += set_flags(user, mailbox_id, pks, action)
    return done, undos


def chosen_across(user, chosen: dict[int, list[int]], right: str) -> dict[int, list[CachedMessage]]:
    """The cached messages of ``chosen`` (``{mailbox_id: [message pk]}``), per mailbox, once the
    user's ``right`` on every mailbox and every message was checked: one id the user may not use
    refuses the whole request (before anything changes)."""
    found: dict[int, list[CachedMessage]] = {}
    for mailbox_id, pks in chosen.items():
        mailbox = access.require(user, mailbox_id, right)
        found[mailbox_id] = [message for messages in by_folder(mailbox, pks).values() for message in messages]
        if len(found[mailbox_id]) != len(set(pks)):
            raise MessageNotFound()
    return found


def move(user, mailbox_id: int, message_pks: Iterable[int], target: str) -> int:
    """Move to ``target`` (a folder of the same mailbox). Needs *write*."""
    return _move_chosen(user, mailbox_id, message_pks, target)[0]


def move_with_undo(user, mailbox_id: int, message_pks: Iterable[int], target: str) -> UndoDelete:
    """Move like :func:`move` and return what :func:`undo_move` needs to move the messages back
    (the value's ``trash`` names ``target``). Needs *write*."""
    return _move_chosen(user, mailbox_id, message_pks, target)[1]


def _move_chosen(user, mailbox_id: int, message_pks: Iterable[int], target: str) -> tuple[int, UndoDelete]:
    mailbox, grouped = _chosen(user, mailbox_id, "write", message_pks)
    if target not in {folder.name for folder in sync.cached_folders(mailbox)}:
        raise InvalidSettings(_("The folder %(name)s does not exist.", name=target), field="target")
    moved, batches = 0, []
    with backend_for(mailbox) as backend:
        for folder, messages in grouped.items():
            if folder != target:
                moving = _uids_and_ids(messages)  # read before the move expires the rows
                mapping = intents.move(mailbox, backend, folder, list(moving), target)
                batches.append(_batch(folder, moving, mapping))
                moved += len(messages)
    return moved, UndoDelete(mailbox.id, target, tuple(batches))


def undo_move(user, undo: UndoDelete) -> int:
    """Move what :func:`move_with_undo` moved back where it came from. Needs *write*."""
    return _move_back(access.require(user, undo.mailbox_id, "write"), undo)


def _uids_and_ids(messages: list[CachedMessage]) -> dict[int, str]:
    return {m.uid: m.message_id for m in messages}


def _batch(folder: str, ids_by_uid: dict[int, str], mapping: dict[int, int]) -> DeletedBatch:
    """Where moved messages went: their new UIDs, or their Message-IDs where the server named none."""
    new_uids = tuple(mapping[uid] for uid in ids_by_uid if uid in mapping)
    missing = tuple(ids_by_uid[uid] for uid in ids_by_uid if uid not in mapping and ids_by_uid[uid])
    return DeletedBatch(folder, new_uids, missing)


def trash_folder(mailbox: Mailbox) -> str | None:
    """The Trash folder as resolved from the cached folder list (no server round trip), or
    ``None`` when none resolves yet."""
    return resolve_folder(mailbox, "trash", sync.cached_folders(mailbox))


def in_trash(mailbox: Mailbox, folder: str) -> bool:
    return folder == trash_folder(mailbox)


def delete(user, mailbox_id: int, message_pks: Iterable[int]) -> UndoDelete:
    """Move to the mailbox's Trash (never a permanent delete). Needs *delete*. Messages that are
    in Trash already are left alone: use :func:`delete_permanently` after asking."""
    mailbox, grouped = _chosen(user, mailbox_id, "delete", message_pks)
    batches = []
    with backend_for(mailbox) as backend:
        trash = folder_for_role(mailbox, backend, "trash", create=True)
        for folder, messages in grouped.items():
            if folder == trash:
                continue
            moving = _uids_and_ids(messages)
            subjects = _subjects(messages)  # the rows go with the delete
            _trash, mapping = intents.delete(mailbox, backend, folder, list(moving))
            batches.append(_batch(folder, moving, mapping))
            _audit_if_shared(user, mailbox.id, "deleted", folder, len(messages), subjects)
    return UndoDelete(mailbox.id, trash, tuple(batches))


def undo_delete(user, undo: UndoDelete) -> int:
    """Move what :func:`delete` put into Trash back where it came from. Needs *delete*.
    Messages no longer in Trash (deleted for good, moved on) are skipped."""
    return _move_back(access.require(user, undo.mailbox_id, "delete"), undo)


def _move_back(mailbox: Mailbox, undo: UndoDelete) -> int:
    restored = 0
    with backend_for(mailbox) as backend:
        sync.sync_folder(mailbox, backend, undo.trash)
        for batch in undo.batches:
            backend.select(undo.trash, readonly=True)
            present = set(backend.search_uids())
            uids = [uid for uid in batch.uids_in_trash if uid in present]
            for message_id in batch.message_ids:
                uids.extend(uid for uid in backend.search_header("Message-ID", message_id) if uid not in uids)
            if uids:
                intents.move(mailbox, backend, undo.trash, uids, batch.source)
                restored += len(uids)
    return restored


def delete_permanently(user, mailbox_id: int, message_pks: Iterable[int]) -> int:
    """Delete messages of Trash for good; the caller has asked the user. Needs *delete*.
    Raises :class:`InvalidSettings` when one of them is not in Trash (nothing is deleted)."""
    mailbox, grouped = _chosen(user, mailbox_id, "delete", message_pks)
    if any(not in_trash(mailbox, folder) for folder in grouped):
        raise InvalidSettings(_("Only messages in Trash can be deleted for good."))
    deleted = 0
    with backend_for(mailbox) as backend:
        for folder, messages in grouped.items():
            subjects = _subjects(messages)
            intents.delete_permanently(mailbox, backend, folder, [m.uid for m in messages])
            deleted += len(messages)
            _audit_if_shared(user, mailbox.id, "deleted_permanently", folder, len(messages), subjects)
    return deleted


#: at most this many subjects are named in the audit entry of one deletion
AUDITED_SUBJECTS = 10


def _subjects(messages) -> list[str]:
    return [(message.subject or "")[:200] for message in list(messages)[:AUDITED_SUBJECTS]]


def _audit_if_shared(user, mailbox_id: int, action: str, folder: str, count: int, subjects: list[str]) -> None:
    """A deletion in a shared mailbox (more than one user or a group holds a right on it) goes
    into the mailbox's audit log, with the subjects of the mail; a personal mailbox's does not."""
    if not access.is_shared(mailbox_id):
        return
    access.audit(str(user.get_id()), mailbox_id, action, folder=folder, count=count, subjects=subjects)


def empty_trash(user, mailbox_id: int) -> int:
    """Delete everything in Trash for good; the caller has asked the user. Needs *delete*."""
    mailbox = access.require(user, mailbox_id, "delete")
    with backend_for(mailbox) as backend:
        return intents.empty_trash(mailbox, backend)
