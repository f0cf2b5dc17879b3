"""Where the archived bytes live, behind one small interface: the database (the default) or a
directory of files. Both store each distinct mail once, under the SHA-256 of its original bytes,
compressed with Zstandard (bytes stored before it, with zlib, are read by their first bytes);
neither ever overwrites what is stored.

A third storage, an S3-compatible object store with object lock, is in s3_storage.py.
"""
from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

import zstandard
from flask import current_app
from sqlalchemy import func, select

from .._state import mail_state
from ..bulk_insert import insert_rows
from ..models import ArchiveBlob
from .s3_storage import S3Storage
from .thread_pools import ProcessPool

# Zstandard level 1: the ratio zlib reaches at level 3 (1/4 of the size for typical mail) in
# 1/3.5 of its time, and decompressed twice as fast; higher levels gain 1 % for 30 % more time.
COMPRESSION_LEVEL = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # every Zstandard frame starts so; a zlib stream never does
#: What reading stored bytes that are not a valid compressed stream raises.
UNREADABLE = (zlib.error, zstandard.ZstdError)


# One call for a mail asks for an output buffer of its full size at once; above this size, a
# mail is compressed in pieces, so that a 50 MB mail is not held twice while it is archived.
_WHOLE_UP_TO = 1024 * 1024
_PIECE = 1024 * 1024


def compress(raw: bytes) -> bytes:
    """``raw`` as it is stored (a Zstandard frame that records its size)."""
    if len(raw) <= _WHOLE_UP_TO:
        return _compressor().compress(raw)
    stream = _compressor().compressobj(size=len(raw))
    view = memoryview(raw)
    pieces = [stream.compress(view[start:start + _PIECE]) for start in range(0, len(raw), _PIECE)]
    pieces.append(stream.flush())
    return b"".join(pieces)


def decompress(data: bytes) -> bytes:
    """The original bytes of stored ``data``: a Zstandard frame, or zlib (the format before)."""
    if data[:4] == _ZSTD_MAGIC:
        decompressor = getattr(_local, "decompressor", None)
        if decompressor is None:
            decompressor = _local.decompressor = zstandard.ZstdDecompressor()
        return decompressor.decompress(data)
    return zlib.decompress(data)


_local = threading.local()  # (de)compressors are not thread-safe: one per thread, reused


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL)
    return compressor


# A batch is compressed by one call into Zstandard (``multi_compress_to_buffer``), on threads of
# its own, with the interpreter lock let go once for the whole batch: a call per mail lets go of
# it for every mail and waits to get it back while the sync's other threads run Python (beside
# a busy thread, 2,000 mails one by one took 1.8 times as long).
_PARALLEL_FROM = 8  # mails; fewer are compressed in the calling thread
_THREADS = max(1, min(4, os.cpu_count() or 1))
_compressors = ProcessPool(2, "tricoma-archive-zstd")


def _compress(raws: list[bytes]) -> list[bytes]:
    return [compress(raw) for raw in raws]


def _compress_batch(raws: list[bytes]) -> list[bytes]:
    if any(len(raw) > _WHOLE_UP_TO for raw in raws):
        return _compress(raws)
    packed = _compressor().multi_compress_to_buffer(raws, threads=_THREADS)
    return [segment.tobytes() for segment in packed]


def compress_started(raws: list[bytes]) -> Callable[[], list[bytes]]:
    """Start compressing ``raws`` on the pool; the returned call waits and gives them
    compressed, in order. The caller's thread goes on meanwhile."""
    if len(raws) < _PARALLEL_FROM:
        return lambda: _compress(raws)
    return _compressors.get().submit(_compress_batch, list(raws)).result


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
        call inserts the compressed bytes into the same transaction.

        Bytes already stored (the same mail archived for another mailbox: rare, as the journal
        skips what the mailbox has) are compressed too and then skipped by the insert, which
        costs less than asking for them first in every batch."""
        session = mail_state().db.session
        items = list(blobs.items())
        packed = compress_started([raw for _sha, raw in items])

        def finish() -> None:
            rows = [{"sha256": sha, "data": data, "size": len(raw)} for (sha, raw), data in zip(items, packed())]
            insert_rows(session, ArchiveBlob.__table__, rows, ignore_conflicts=True)
        return finish

    def get(self, sha256: str) -> bytes | None:
        data = mail_state().db.session.scalar(select(ArchiveBlob.data).where(ArchiveBlob.sha256 == sha256))
        return decompress(data) if data is not None else None

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
                handle.write(compress(raw))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(unfinished, 0o444)
            os.replace(unfinished, target)

    def get(self, sha256: str) -> bytes | None:
        try:
            return decompress(self.path(sha256).read_bytes())
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
    if kind == "s3":
        return S3Storage.from_config(compress, decompress)
    raise RuntimeError(f"unknown TRICOMA_MAIL_ARCHIVE_STORAGE {kind!r} (use 'database', 'files' or 's3')")
