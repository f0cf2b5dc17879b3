"""Attachments uploaded while a mail is being written, kept in a temporary folder per browser
session until the mail is sent or saved (no database, no migration).

A *space* is one session's folder; a *token* names one file in it. Uploads are streamed to disk
with a byte limit, so a file over the limit is refused after at most ``limit + 1`` bytes were
read, never loaded whole. Spaces untouched for a day are removed.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import BinaryIO

from ..mime.build import AttachmentData
from ..mime.parse import safe_filename

CHUNK = 64 * 1024
MAX_AGE_SECONDS = 24 * 3600
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")


class UploadTooLarge(Exception):
    """The upload is larger than the limit (``limit`` in bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class StoredUpload:
    token: str
    filename: str
    content_type: str
    size: int


def root() -> str:
    """The folder that holds every space (below the system's temporary folder)."""
    return os.path.join(tempfile.gettempdir(), f"tricoma-mail-uploads-{os.getuid()}")


def new_space() -> str:
    return secrets.token_urlsafe(24)


def _space_dir(space: str) -> str:
    if not _NAME.match(space or ""):
        raise ValueError("not an upload space")
    return os.path.join(root(), space)


def save(space: str, filename: str, content_type: str, stream: BinaryIO, limit: int,
         used: int = 0) -> StoredUpload:
    """Stream ``stream`` into ``space``; raises :class:`UploadTooLarge` as soon as the file and
    the ``used`` bytes of earlier uploads together pass ``limit``."""
    directory = _space_dir(space)
    os.makedirs(root(), mode=0o700, exist_ok=True)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    token = secrets.token_urlsafe(18)
    path = os.path.join(directory, token)
    allowed = limit - used
    size = 0
    try:
        with open(path, "xb") as target:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > allowed:
                    raise UploadTooLarge(limit)
                target.write(chunk)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise
    content_type = (content_type or "").split(";")[0].strip().lower()
    if not _CONTENT_TYPE.match(content_type):
        content_type = "application/octet-stream"
    stored = StoredUpload(token, safe_filename(filename), content_type, size)
    with open(path + ".json", "x", encoding="utf-8") as meta:
        json.dump({"filename": stored.filename, "content_type": stored.content_type, "size": size}, meta)
    return stored


def put(space: str, attachment: AttachmentData) -> StoredUpload:
    """Keep an attachment that is already in memory (forwarded from another message)."""
    return save(space, attachment.filename, attachment.content_type, io.BytesIO(attachment.data),
                limit=len(attachment.data))


def describe(space: str, token: str) -> StoredUpload | None:
    """The upload ``token`` of ``space``, or ``None`` when there is no such upload."""
    if not _NAME.match(token or ""):
        return None
    try:
        with open(os.path.join(_space_dir(space), token + ".json"), encoding="utf-8") as meta:
            data = json.load(meta)
    except (OSError, ValueError):
        return None
    return StoredUpload(token, data["filename"], data["content_type"], int(data["size"]))


def load(space: str, token: str) -> AttachmentData | None:
    stored = describe(space, token)
    if stored is None:
        return None
    with open(os.path.join(_space_dir(space), token), "rb") as handle:
        return AttachmentData(stored.filename, stored.content_type, handle.read())


def total_size(space: str, tokens) -> int:
    return sum(stored.size for stored in (describe(space, token) for token in tokens) if stored)


def discard(space: str, tokens) -> None:
    """Remove uploads that were sent or saved."""
    for token in tokens:
        if _NAME.match(token or ""):
            for suffix in ("", ".json"):
                try:
                    os.remove(os.path.join(_space_dir(space), token + suffix))
                except OSError:
                    pass


def remove_stale(now: float | None = None) -> int:
    """Remove spaces untouched for :data:`MAX_AGE_SECONDS`. Returns how many."""
    now = now or time.time()
    removed = 0
    try:
        entries = list(os.scandir(root()))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > MAX_AGE_SECONDS:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
