"""Attachments uploaded while a mail is being written, kept per browser session until the mail
is sent or saved: in the database (``StoredUpload`` rows), so that the next request may reach
any web process on any host.

A *space* is one session's set of uploads; a *token* names one file in it. Uploads are read with
a byte limit, so a file over the limit is refused after at most ``limit + 1`` bytes were read,
never loaded whole. Uploads older than a day are removed by the clean-up job.
"""
from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import delete, func, select

from .._state import mail_state
from ..mime.build import AttachmentData
from ..mime.parse import safe_filename
from ..models import StoredUpload as UploadRow
from ..models import utcnow

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


def _session():
    return mail_state().db.session


def new_space() -> str:
    return secrets.token_urlsafe(24)


def _check_space(space: str) -> str:
    if not _NAME.match(space or ""):
        raise ValueError("not an upload space")
    return space


def save(space: str, filename: str, content_type: str, stream: BinaryIO, limit: int,
         used: int = 0) -> StoredUpload:
    """Read ``stream`` into ``space``; raises :class:`UploadTooLarge` as soon as the file and
    the ``used`` bytes of earlier uploads together pass ``limit``."""
    _check_space(space)
    allowed = limit - used
    data = io.BytesIO()
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if data.tell() + len(chunk) > allowed:
            raise UploadTooLarge(limit)
        data.write(chunk)
    content_type = (content_type or "").split(";")[0].strip().lower()
    if not _CONTENT_TYPE.match(content_type):
        content_type = "application/octet-stream"
    stored = StoredUpload(secrets.token_urlsafe(18), safe_filename(filename), content_type, data.tell())
    session = _session()
    session.add(UploadRow(space=space, token=stored.token, filename=stored.filename,
                          content_type=stored.content_type, size=stored.size, data=data.getvalue()))
    session.commit()
    return stored


def put(space: str, attachment: AttachmentData) -> StoredUpload:
    """Keep an attachment that is already in memory (forwarded from another message)."""
    return save(space, attachment.filename, attachment.content_type, io.BytesIO(attachment.data),
                limit=len(attachment.data))


def _row_query(space: str, token: str, *columns):
    return select(*columns).where(UploadRow.space == _check_space(space), UploadRow.token == token)


def describe(space: str, token: str) -> StoredUpload | None:
    """The upload ``token`` of ``space``, or ``None`` when there is no such upload."""
    if not _NAME.match(token or ""):
        return None
    row = _session().execute(_row_query(space, token, UploadRow.filename, UploadRow.content_type,
                                        UploadRow.size)).first()
    return StoredUpload(token, row.filename, row.content_type, int(row.size)) if row else None


def load(space: str, token: str) -> AttachmentData | None:
    if not _NAME.match(token or ""):
        return None
    row = _session().execute(_row_query(space, token, UploadRow.filename, UploadRow.content_type,
                                        UploadRow.data)).first()
    return AttachmentData(row.filename, row.content_type, bytes(row.data)) if row else None


def total_size(space: str, tokens) -> int:
    tokens = [token for token in tokens if _NAME.match(token or "")]
    if not tokens:
        return 0
    return int(_session().scalar(select(func.coalesce(func.sum(UploadRow.size), 0)).where(
        UploadRow.space == _check_space(space), UploadRow.token.in_(tokens))) or 0)


def discard(space: str, tokens) -> int:
    """Remove uploads that were sent or saved. Returns how many there were."""
    tokens = [token for token in tokens if _NAME.match(token or "")]
    if not tokens:
        return 0
    removed = _session().execute(delete(UploadRow).where(UploadRow.space == _check_space(space),
                                                         UploadRow.token.in_(tokens))).rowcount
    _session().commit()
    return int(removed or 0)


def remove_stale() -> int:
    """Remove uploads older than :data:`MAX_AGE_SECONDS`. Returns how many."""
    session = _session()
    removed = session.execute(delete(UploadRow).where(
        UploadRow.created_at < utcnow() - timedelta(seconds=MAX_AGE_SECONDS))).rowcount
    session.commit()
    return removed or 0
