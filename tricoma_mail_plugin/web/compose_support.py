"""What another interface's compose form needs from core's compose (SPEC M8), so that it writes
mail the way the v1 form does: the attachments uploaded in this browser session (core's upload
store, in the database, within the attachment limit), the same autosave interval, and the
attachments of a mail whose sending was stopped.

Files are uploaded through core's own upload endpoint (``tricoma_mail_compose.upload``, which
enforces the limit while streaming); the interface keeps the tokens it answers and hands them
back here when the mail is sent or saved. A token names an upload of the current browser
session only: tokens of another session are ignored.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..config import attachment_limit
from ..mail import reply_prefill, upload_store
from ..mail.upload_store import StoredUpload
from ..mime.build import AttachmentData, InvalidMessage
from . import compose_views
from .mail_common import human_size

__all__ = [
    "StoredUpload",
    "autosave_seconds",
    "compose_attachments",
    "discard_compose_uploads",
    "keep_compose_attachments",
    "open_upload_space",
    "outbox_attachments",
    "size_text",
    "upload_limit",
    "upload_too_large_message",
]

MAX_TOKENS = 100


def _space() -> str:
    return compose_views._space()  # the session's upload space is the v1 form's own


def open_upload_space() -> None:
    """Gives this browser session its upload space now, when the page with the form is served:
    files uploaded at once by a page that has none would each start one, and the session
    cookie of the last answer would keep only the last."""
    _space()


def _tokens(tokens: Iterable[object] | None) -> list[str]:
    found = []
    for token in tokens or ():
        if isinstance(token, str) and token and token not in found:
            found.append(token)
    return found[:MAX_TOKENS]


def upload_limit() -> int:
    """The largest total size of one mail's attachments, in bytes."""
    return attachment_limit()


def size_text(size: int) -> str:
    """A size as the v1 form shows it ("12 KB", "1,5 MB"), in the user's language."""
    return human_size(size)


def upload_too_large_message() -> str:
    """The error the upload endpoint answers for too large a file (translated)."""
    return compose_views.too_large_message()


def autosave_seconds() -> int:
    """How often the v1 compose form saves a changed draft."""
    return int(compose_views.AUTOSAVE_SECONDS)


def keep_compose_attachments(attachments: Iterable[AttachmentData]) -> list[StoredUpload]:
    """Keep attachments that are already in memory (those of a forwarded mail or of a draft) in
    this session's upload space, as if they had been uploaded; each answers its token."""
    space = _space()
    return [upload_store.put(space, attachment) for attachment in attachments]


def compose_attachments(tokens: Sequence[object] | None) -> tuple[AttachmentData, ...]:
    """The uploads ``tokens`` of this session, in their order (unknown tokens are left out);
    raises :class:`InvalidMessage` (field ``attachments``) when together they pass the limit."""
    space = _space()
    tokens = _tokens(tokens)
    if upload_store.total_size(space, tokens) > upload_limit():
        raise InvalidMessage(upload_too_large_message(), "attachments")
    loaded = (upload_store.load(space, token) for token in tokens)
    return tuple(attachment for attachment in loaded if attachment is not None)


def discard_compose_uploads(tokens: Sequence[object] | None) -> int:
    """Remove uploads of this session that were sent or that the user took away; answers how
    many of them were this session's."""
    return upload_store.discard(_space(), _tokens(tokens))


def outbox_attachments(raw: bytes) -> list[StoredUpload]:
    """The attachments of a mail taken back from the outbox (undo send), kept again in this
    session's upload space so that the mail can be edited and sent once more."""
    return keep_compose_attachments(reply_prefill.from_outbox(raw, ()).attachments)
