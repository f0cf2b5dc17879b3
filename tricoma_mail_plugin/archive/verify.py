"""``archive verify``: recompute the hash chain and every stored mail's SHA-256, and name the
first entry where the archive differs from what was written."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .._state import mail_state
from ..models import ArchiveEntry, ArchivePurge
from .journal import GENESIS, content_hash, hash_of
from .storage import UNREADABLE, archive_storage

_CHUNK = 1000


@dataclass(frozen=True)
class Broken:
    entry_id: int
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    purged: int  # entries whose bytes a purge run removed (their fields are still checked)
    head_hash: str  # the last entry's hash: write it down to notice entries cut off the end
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_archive() -> VerifyReport:
    """Walk the chain from the first entry; stop at the first broken one."""
    session = mail_state().db.session
    storage = archive_storage()
    purged = set(session.scalars(select(ArchivePurge.entry_id)))
    verified_bytes: set[str] = set()
    prev, count, last_id = GENESIS, 0, 0
    while True:
        entries = list(session.scalars(select(ArchiveEntry).where(ArchiveEntry.id > last_id)
                                       .order_by(ArchiveEntry.id).limit(_CHUNK)
                                       .execution_options(populate_existing=True)))  # what is stored now
        if not entries:
            return VerifyReport(count, len(purged), prev, None)
        for entry in entries:
            problem = _problem(entry, prev, entry.id in purged, storage, verified_bytes)
            if problem:
                return VerifyReport(count, len(purged), prev, Broken(entry.id, problem))
            prev, count, last_id = entry.entry_hash, count + 1, entry.id
        for entry in entries:  # keep the session small on a large archive
            session.expunge(entry)


def _problem(entry: ArchiveEntry, prev: str, purged: bool, storage, verified_bytes: set[str]) -> str | None:
    if entry.prev_hash != prev:
        return "its link to the previous entry does not match: an entry before it was removed or changed"
    if entry.entry_hash != hash_of(entry, prev):
        return "its fields were changed after it was written"
    if purged or entry.sha256 in verified_bytes:
        return None
    try:
        raw = storage.get(entry.sha256)
    except (*UNREADABLE, OSError) as error:
        return f"its stored bytes cannot be read ({error})"
    if raw is None:
        return "its stored bytes are missing"
    if content_hash(raw) != entry.sha256 or len(raw) != entry.size:
        return "its stored bytes were changed"
    verified_bytes.add(entry.sha256)
    return None
