"""Copy every folder and message of one mailbox's server into another mailbox's server.

The source is only read (EXAMINE, BODY.PEEK). Each message is APPENDed with its flags and
internal date. Progress is recorded per source folder (the last UID copied, in
``v2_hosted_move_progress``) after every batch, so an interrupted move resumes where it stopped;
and a message the target folder holds already (same Message-ID, size and internal date) is never
appended again, which covers the messages of a batch cut off before its progress was recorded.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from imapclient import IMAPClient
from sqlalchemy import and_, column, select, table

from tricoma_mail_plugin import (
    db_session,
    grant_mailbox_right,
    live_mailbox,
    mailbox_settings,
    utcnow,
)

from ..marks import is_v2
from ..tables import move_progress
from .folder_plan import FolderPair, plan, server_folders
from .imap_session import open_session

log = logging.getLogger(__name__)

BATCH = 50
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
HEADER_ITEM = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
KEPT_OUT_FLAGS = {b"\\recent"}

#: Called after each message handled: (source folder, messages handled so far, total to handle).
OnProgress = Callable[[str, int, int], None]

# Core's grant table, read through its columns only (the root API has ``grant_mailbox_right``
# but no reading counterpart yet).
_grants = table("tricoma_mail_grant", column("mailbox_id"), column("principal_type"),
                column("principal_id"), column("right"))

MessageKey = tuple[bytes, int, int]


@dataclass
class MoveResult:
    copied: int = 0
    skipped: int = 0  # already in the target folder
    folders: dict[str, str] = field(default_factory=dict)  # source folder -> target folder
    grants: int = 0  # grants newly given on the target


def move_mailbox(source_id: int, target_id: int, on_progress: OnProgress | None = None,
                 actor: str = "system") -> MoveResult:
    """Copy mailbox ``source_id`` into ``target_id`` (both core mailbox ids); safe to run again.
    Raises ``LookupError`` for an unknown mailbox, ``ValueError`` when both are the same or the
    target is not a hosted (v2) mailbox."""
    if source_id == target_id:
        raise ValueError("source and target are the same mailbox")
    source_mailbox, target_mailbox = live_mailbox(source_id), live_mailbox(target_id)
    if source_mailbox is None or target_mailbox is None:
        raise LookupError(source_id if source_mailbox is None else target_id)
    if not is_v2(target_id):
        raise ValueError(f"mailbox {target_id} is not a hosted (v2) mailbox; mark it first (flask v2-hosted mark)")
    source = open_session(mailbox_settings(source_mailbox).imap)
    try:
        target = open_session(mailbox_settings(target_mailbox).imap)
        try:
            for client in (source, target):
                client.normalise_times = False  # aware internal dates, kept exactly
            target_folders = server_folders(target)
            pairs = plan(source_mailbox, server_folders(source), target_mailbox, target_folders)
            result = MoveResult(folders={pair.source: pair.target for pair in pairs})
            existing = {folder.name for folder in target_folders}
            pending = {pair.source: _pending_uids(source, pair, source_id, target_id) for pair in pairs}
            total = sum(len(uids) for _validity, uids in pending.values())
            done = 0
            for pair in pairs:
                if pair.target not in existing:
                    target.create_folder(pair.target)
                    existing.add(pair.target)
                validity, uids = pending[pair.source]
                done = _copy_folder(source, target, pair, validity, uids, (source_id, target_id), result,
                                    lambda count, folder=pair.source: on_progress and on_progress(folder, count, total),
                                    done)
        finally:
            _logout(target)
    finally:
        _logout(source)
    result.grants = carry_over_grants(source_id, target_id, actor)
    return result


def carry_over_grants(source_id: int, target_id: int, actor: str) -> int:
    """Give every grant of the source mailbox on the target too; returns how many were new."""
    session = db_session()
    rows = session.execute(select(_grants.c.principal_type, _grants.c.principal_id, _grants.c.right)
                           .where(_grants.c.mailbox_id == source_id)).all()
    added = sum(grant_mailbox_right(target_id, kind, principal, right, actor=actor) for kind, principal, right in rows)
    session.commit()
    return added


def _pending_uids(source: IMAPClient, pair: FolderPair, source_id: int, target_id: int) -> tuple[int, list[int]]:
    status = source.select_folder(pair.source, readonly=True)
    validity = int(status[b"UIDVALIDITY"])
    row = _progress(source_id, target_id, pair.source)
    after = row.last_uid if row is not None and row.uid_validity == validity else 0
    return validity, [uid for uid in source.search(["UID", f"{after + 1}:*"]) if uid > after]


def _copy_folder(source: IMAPClient, target: IMAPClient, pair: FolderPair, validity: int, uids: list[int],
                 ids: tuple[int, int], result: MoveResult, report: Callable[[int], None], done: int) -> int:
    source.select_folder(pair.source, readonly=True)
    present = _keys_in(target, pair.target)
    for start in range(0, len(uids), BATCH):
        batch = uids[start:start + BATCH]
        fetched = source.fetch(batch, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE", "RFC822.SIZE"])
        for uid in batch:
            data = fetched.get(uid)
            if data is not None:
                body = data[b"BODY[]"]
                key = (_message_id(body), int(data[b"RFC822.SIZE"]), int(data[b"INTERNALDATE"].timestamp()))
                if key in present:
                    result.skipped += 1
                else:
                    flags = [flag for flag in data[b"FLAGS"] if flag.lower() not in KEPT_OUT_FLAGS]
                    target.append(pair.target, body, flags, data[b"INTERNALDATE"])
                    present.add(key)
                    result.copied += 1
            done += 1
            report(done)
        _record(ids, pair, validity, batch[-1], len(batch))
    return done


def _keys_in(client: IMAPClient, folder: str) -> set[MessageKey]:
    """(Message-ID, size, internal date) of every message in ``folder`` of the target."""
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    keys = set()
    for start in range(0, len(uids), 500):
        fetched = client.fetch(uids[start:start + 500], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "RFC822.SIZE", "INTERNALDATE"])
        for data in fetched.values():
            keys.add((_message_id(data.get(HEADER_ITEM) or b""), int(data[b"RFC822.SIZE"]),
                      int(data[b"INTERNALDATE"].timestamp())))
    return keys


def _message_id(raw: bytes) -> bytes:
    header_end = raw.find(b"\r\n\r\n")
    found = MESSAGE_ID.search(raw if header_end < 0 else raw[:header_end])
    return b" ".join(found.group(1).split()) if found else b""


def _where(source_id: int, target_id: int, folder: str):
    return and_(move_progress.c.source_id == source_id, move_progress.c.target_id == target_id,
                move_progress.c.source_folder == folder)


def _progress(source_id: int, target_id: int, folder: str):
    return db_session().execute(select(move_progress).where(_where(source_id, target_id, folder))).first()


def _record(ids: tuple[int, int], pair: FolderPair, validity: int, last_uid: int, handled: int) -> None:
    session = db_session()
    row = _progress(*ids, pair.source)
    values = {"target_folder": pair.target, "uid_validity": validity, "last_uid": last_uid, "updated_at": utcnow()}
    if row is None:
        session.execute(move_progress.insert().values(source_id=ids[0], target_id=ids[1], source_folder=pair.source,
                                                      copied=handled, **values))
    else:
        session.execute(move_progress.update().where(_where(*ids, pair.source))
                        .values(copied=(row.copied if row.uid_validity == validity else 0) + handled, **values))
    session.commit()


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception as error:  # noqa: BLE001 - the work is done; a failing LOGOUT changes nothing
        log.info("LOGOUT failed: %s", error)
