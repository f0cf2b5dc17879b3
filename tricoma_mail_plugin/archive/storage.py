"""Where the archived bytes live, behind one small interface: the database (the default) or a
directory of files. Both store each distinct mail once, under the SHA-256 of its original bytes,
compressed with zlib; neither ever overwrites what is stored.

An S3-compatible object store with object lock is not built yet (docs/archive.md).
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from flask import current_app
from sqlalchemy import func, select

from .._state import mail_state
from ..bulk_insert import insert_rows, one_of
from ..models import ArchiveBlob

COMPRESSION_LEVEL = 3  # 1/4 of the size for typical mail; level 6 costs 40 % more time for 3 % less


# zlib lets go of the interpreter lock while it compresses: a sync's batch of 500 mails is
# compressed on every core at once instead of on the one that runs the sync.
_PARALLEL_FROM = 8  # mails; fewer are compressed in the calling thread
_WORKERS = max(2, min(4, os.cpu_count() or 1))
_compressors: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked child makes its own


def _pool() -> ThreadPoolExecutor:
    global _compressors
    if _compressors is None or _compressors[0] != os.getpid():
        _compressors = (os.getpid(), ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="tricoma-archive-zlib"))
    return _compressors[1]


def _compress(raws: list[bytes]) -> list[bytes]:
    return [zlib.compress(raw, COMPRESSION_LEVEL) for raw in raws]


def compress_all(raws: list[bytes]) -> list[bytes]:
    """Each of ``raws`` compressed, in order."""
    return compress_started(raws)()


def compress_started(raws: list[bytes]) -> Callable[[], list[bytes]]:
    """Start compressing ``raws`` on the pool (one task per slice: a future per mail costs more
    than compressing it); the returned call waits and gives them compressed, in order. The
    caller's thread goes on meanwhile (zlib lets go of the interpreter lock)."""
    if len(raws) < _PARALLEL_FROM:
        return lambda: _compress(raws)
    pool = _pool()
    step = -(-len(raws) // _WORKERS)
    slices = [pool.submit(_compress, raws[start:start + step]) for start in range(0, len(raws), step)]
    return lambda: [packed for done in slices for packed in done.result()]


class ArchiveStorage(Protocol):
    """Stored bytes by SHA-256. ``put`` is called inside the journal's transaction."""

    #: Whether writes join the database transaction (else they happen at once, outside it).
    transactional: bool

    def put(self, blobs: Mapping[str, bytes]) -> None:
        """Store each ``sha256 → original bytes`` that is not stored yet."""

    def put_started(self, blobs: Mapping[str, bytes]) -> Callable[[], None]:
        """Start :meth:`put`; the returned call finishes it (before the transaction commits)."""

    def get(self, sha256: str) -> bytes | None:
        """The original bytes, or ``None`` when nothing is stored under ``sha256``."""

    def delete(self, sha256s: Iterable[str]) -> None:
        """Remove the bytes (a purge run, after the retention of every entry that uses them)."""

    def stored_bytes(self) -> int:
        """Bytes the storage holds (compressed)."""


class DatabaseStorage:
    """Compressed bytes in ``tricoma_mail_archive_blob``, in the journal's own transaction: an
    entry and its bytes are committed together or not at all."""

    transactional = True

    def put(self, blobs: Mapping[str, bytes]) -> None:
        self.put_started(blobs)()

    def put_started(self, blobs: Mapping[str, bytes]) -> Callable[[], None]:
        """Compression runs on the pool while the caller writes its other rows; the returned
        call inserts the compressed bytes into the same transaction."""
        session = mail_state().db.session
        present = set(session.scalars(
            select(ArchiveBlob.sha256).where(one_of(session, ArchiveBlob.sha256, list(blobs)))))
        missing = [(sha, raw) for sha, raw in blobs.items() if sha not in present]
        packed = compress_started([raw for _sha, raw in missing])

        def finish() -> None:
            rows = [{"sha256": sha, "data": data, "size": len(raw)} for (sha, raw), data in zip(missing, packed())]
            insert_rows(session, ArchiveBlob.__table__, rows)
        return finish

    def get(self, sha256: str) -> bytes | None:
        data = mail_state().db.session.scalar(select(ArchiveBlob.data).where(ArchiveBlob.sha256 == sha256))
        return zlib.decompress(data) if data is not None else None

    def delete(self, sha256s: Iterable[str]) -> None:
        session = mail_state().db.session
        session.execute(ArchiveBlob.__table__.delete().where(ArchiveBlob.sha256.in_(list(sha256s))))

    def stored_bytes(self) -> int:
        return int(mail_state().db.session.scalar(select(func.coalesce(func.sum(func.length(ArchiveBlob.data)), 0))))


class FileStorage:
    """One read-only file per distinct mail under ``root/ab/cd/<sha256>.eml.z``, written to a
    temporary name, flushed to disk and renamed, before the journal's transaction commits. Mount
    the directory on write-once storage to keep the operating system from changing it."""

    transactional = False

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.eml.z"

    def put_started(self, blobs: Mapping[str, bytes]) -> Callable[[], None]:
        return lambda: self.put(blobs)

    def put(self, blobs: Mapping[str, bytes]) -> None:
        for sha, raw in blobs.items():
            target = self.path(sha)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            unfinished = target.with_suffix(".tmp")
            with open(unfinished, "wb") as handle:
                handle.write(compress_all([raw])[0])
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(unfinished, 0o444)
            os.replace(unfinished, target)

    def get(self, sha256: str) -> bytes | None:
        try:
            return zlib.decompress(self.path(sha256).read_bytes())
        except FileNotFoundError:
            return None

    def delete(self, sha256s: Iterable[str]) -> None:
        for sha in sha256s:
            self.path(sha).unlink(missing_ok=True)

    def stored_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.root.rglob("*.eml.z"))


def archive_storage() -> ArchiveStorage:
    """The storage the app is configured for (``TRICOMA_MAIL_ARCHIVE_STORAGE``)."""
    kind = current_app.config["TRICOMA_MAIL_ARCHIVE_STORAGE"]
    if kind == "database":
        return DatabaseStorage()
    if kind == "files":
        directory = current_app.config["TRICOMA_MAIL_ARCHIVE_DIRECTORY"]
        if not directory:
            raise RuntimeError("TRICOMA_MAIL_ARCHIVE_STORAGE is 'files' but TRICOMA_MAIL_ARCHIVE_DIRECTORY is not set")
        return FileStorage(directory)
    raise RuntimeError(f"unknown TRICOMA_MAIL_ARCHIVE_STORAGE {kind!r} (use 'database' or 'files')")
