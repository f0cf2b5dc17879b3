"""One message ready to show: parsed, its HTML sanitized with ``cid:`` links pointing at the
app, remote images blocked unless allowed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..cache.bodies import raw_message
from ..mailboxes.backend import MailboxBackend
from ..mime.parse import Attachment, ParsedMessage, parse_message
from ..mime.sanitize import INLINE_IMAGE_TYPES, sanitize_html
from ..models import Mailbox
from ..rights import access


#: The attachments a browser shows in a tab of its own (never scripts, never markup): the
#: attachment route serves these inline when asked, everything else as a download (the v1 reading
#: view and the v2 client offer "Open" for them).
INLINE_ATTACHMENT_TYPES = frozenset(INLINE_IMAGE_TYPES | {"application/pdf"})


@dataclass(frozen=True)
class RenderedMessage:
    message: ParsedMessage
    html: str | None  # sanitized; None when the message has no HTML body
    remote_blocked: int
    html_truncated: bool


def render_message(mailbox: Mailbox, message_pk: int, part_url: Callable[[str], str],
                   allow_remote: bool = False, backend: MailboxBackend | None = None) -> RenderedMessage:
    """Parse and sanitize one cached message; ``part_url(part_id)`` gives the URL an inline
    image is served from."""
    parsed = parse_message(raw_message(mailbox, message_pk, backend), with_headers=False)
    html, blocked, truncated = None, 0, False
    if parsed.html:
        cid_map = {part.content_id: part_url(part.part_id) for part in parsed.inline_parts if part.content_id}
        sanitized = sanitize_html(parsed.html, cid_map=cid_map, allow_remote=allow_remote)
        html, blocked, truncated = sanitized.html, sanitized.remote_blocked, sanitized.truncated
    return RenderedMessage(parsed, html, blocked, truncated)


def message_attachments(user, mailbox_id: int, message_pk: int) -> tuple[Attachment, ...]:
    """The attachments of one cached message (needs *read*), as the reading view lists them:
    for a client of its own (the v2 interface) that links to core's download route."""
    mailbox = access.require(user, mailbox_id, "read")
    return parse_message(raw_message(mailbox, message_pk), with_headers=False).attachments
