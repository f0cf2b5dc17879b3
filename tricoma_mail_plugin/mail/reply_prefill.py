"""What the compose form starts with when the user replies to, forwards or edits a message:
recipients, subject with a single "Re:"/"Fwd:", quoted text, In-Reply-To/References and the
attachments to carry over (SPEC M8).

The original is read from the cache like the reading view reads it; nothing here sends or
stores anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import getaddresses

from flask_babel import format_datetime
from flask_babel import gettext as _

from ..cache.bodies import cached_message, raw_message
from ..mime.build import AttachmentData
from ..mime.headers import address_text, decode_header_text
from ..mime.html_text import html_to_plain_text
from ..mime.parse import Address, ParsedMessage, get_part, parse_message, safe_filename
from ..models import Mailbox

MODES = ("reply", "reply_all", "forward", "forward_attachment", "draft")
MAX_QUOTED_CHARS = 200_000
MAX_REFERENCES = 20

# "Re:", "AW:", "Fwd:", "WG:"… as mail clients in several languages write them, also "Re[2]:".
_PREFIX = re.compile(r"^\s*(?:(?:re|aw|antw|sv|vs|ref|fw|fwd|wg|tr|rv|enc)(?:\[\d+\])?\s*:\s*)+",
                     re.IGNORECASE)


@dataclass(frozen=True)
class ComposeStart:
    """The initial values of the compose form."""

    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    attachments: tuple[AttachmentData, ...] = field(default=(), repr=False)
    replaces_draft_uid: int | None = None


def base_subject(subject: str) -> str:
    """The subject without any leading reply or forward prefixes."""
    return _PREFIX.sub("", subject or "").strip()


def reply_subject(subject: str) -> str:
    return "Re: " + base_subject(subject)


def forward_subject(subject: str) -> str:
    return "Fwd: " + base_subject(subject)


def own_addresses(mailbox: Mailbox) -> set[str]:
    """The mailbox's own addresses, lower case: never replied to in "reply all"."""
    addresses = {mailbox.email, mailbox.imap_username, *(mailbox.extra_addresses or "").splitlines()}
    return {address.strip().lower() for address in addresses if address and "@" in address}


def quote(text: str) -> str:
    """``text`` with "> " before every line, as replies quote."""
    return "\n".join((">" + line if line.startswith(">") else "> " + line) if line else ">"
                     for line in text.rstrip("\n").splitlines())


def body_text(parsed: ParsedMessage) -> str:
    """The message's text as plain text (the HTML body converted when there is no text body)."""
    if parsed.text:
        text = parsed.text
    elif parsed.html:
        text = html_to_plain_text(parsed.html[:MAX_QUOTED_CHARS * 4])
    else:
        text = ""
    return text[:MAX_QUOTED_CHARS]


def prefill(mailbox: Mailbox, message_pk: int, mode: str) -> ComposeStart:
    """The compose form for ``mode`` (see :data:`MODES`) on message ``message_pk`` of
    ``mailbox``; raises :class:`MessageNotFound` for a message of another mailbox."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    cached, _folder = cached_message(mailbox, message_pk)
    raw = raw_message(mailbox, message_pk)
    parsed = parse_message(raw)
    if mode == "draft":
        return ComposeStart(
            to=_join_typed(parsed.to), cc=_join_typed(parsed.cc), bcc=_join_typed(parsed.bcc),
            subject=parsed.subject, body=parsed.text if parsed.text is not None else body_text(parsed),
            in_reply_to=parsed.in_reply_to or "", references=parsed.references,
            attachments=_attachments(raw, parsed), replaces_draft_uid=cached.uid)
    if mode in ("reply", "reply_all"):
        # without a Date header the quote line names when the server received the message
        return _reply(mailbox, parsed, mode == "reply_all", cached.internal_date or cached.date)
    if mode == "forward":
        return ComposeStart(subject=forward_subject(parsed.subject),
                            body="\n\n" + _forward_block(parsed), attachments=_attachments(raw, parsed))
    name = safe_filename(base_subject(parsed.subject) or "message", default="message")
    return ComposeStart(subject=forward_subject(parsed.subject), body="",
                        attachments=(AttachmentData(f"{name}.eml", "message/rfc822", raw),))


def _reply(mailbox: Mailbox, parsed: ParsedMessage, to_all: bool, received: datetime | None = None) -> ComposeStart:
    own = own_addresses(mailbox)
    primary = list(parsed.reply_to or parsed.from_)
    if all(address.email.lower() in own for address in primary) and parsed.to:
        primary = list(parsed.to)  # replying to one's own sent mail goes to its recipients
    to = _unique(primary, set())
    cc: list[Address] = []
    if to_all:
        seen = {address.email.lower() for address in to} | own
        to += _unique(parsed.to, seen)
        seen |= {address.email.lower() for address in to}
        cc = _unique(parsed.cc, seen)
    references = list(parsed.references)
    if parsed.message_id and parsed.message_id not in references:
        references.append(parsed.message_id)
    sender = parsed.from_[0] if parsed.from_ else Address("", "")
    sent = parsed.date or received
    when = format_datetime(sent, "medium") if sent else "?"
    attribution = _("On %(date)s, %(sender)s wrote:", date=when, sender=str(sender) or "?")
    text = body_text(parsed)
    body = "\n\n" + attribution + "\n" + (quote(text) if text else ">") + "\n"
    return ComposeStart(to=_join(to), cc=_join(cc), subject=reply_subject(parsed.subject), body=body,
                        in_reply_to=parsed.message_id or "",
                        references=tuple(references[-MAX_REFERENCES:]))


def _forward_block(parsed: ParsedMessage) -> str:
    lines = [_("-------- Forwarded message --------")]
    for label, value in ((_("From"), _join(parsed.from_)),
                         (_("Date"), format_datetime(parsed.date, "medium") if parsed.date else ""),
                         (_("Subject"), parsed.subject), (_("To"), _join(parsed.to)),
                         (_("Cc"), _join(parsed.cc))):
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines) + "\n\n" + body_text(parsed)


def _attachments(raw: bytes, parsed: ParsedMessage) -> tuple[AttachmentData, ...]:
    found = []
    for attachment in parsed.attachments:
        part = get_part(raw, attachment.part_id)
        if part is not None:
            described, data = part
            found.append(AttachmentData(safe_filename(described.filename), described.content_type, data))
    return tuple(found)


def _unique(addresses, seen: set[str]) -> list[Address]:
    result = []
    for address in addresses:
        key = address.email.lower()
        if key and key not in seen:
            seen.add(key)
            result.append(address)
    return result


def _join(addresses) -> str:
    return ", ".join(_format(address) for address in addresses if address.email)


def _join_typed(addresses) -> str:
    """A draft's field as it was typed: a piece that is no address yet is kept too (the email
    package wrote a non-ASCII one as an encoded word; a header that did not split is one text)."""
    parts = []
    for address in addresses:
        if address.email and "@" not in address.email:
            parts.append(decode_header_text(address.email))
        elif address.email:
            parts.append(_format(address))
        elif address.name:
            parts.append(address.name)
    return ", ".join(parts)


def _format(address: Address) -> str:
    return address_text(address.name, address.email)


def split_recipients(value: str) -> tuple[str, ...]:
    """A recipients field as typed ("a@x, B <b@y>; c@z") as one string per address."""
    value = (value or "").replace(";", ",")
    parts = []
    for piece in _PIECE.findall(value):
        piece = piece.strip()
        found = [(name, address) for name, address in getaddresses([piece]) if name or address]
        if "@" in piece and len(found) == 1 and found[0][1] and found[0][1].count("@") == 1 \
                and not found[0][1].startswith("@") and not found[0][1].endswith("@"):
            parts.append(_format(Address(*found[0])))
        elif piece:
            parts.append(piece)  # not an address (yet): a draft keeps it, sending refuses it with its text
    return tuple(parts)


# one recipient: up to a comma outside a quoted name and outside <…>
_PIECE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|<[^>]*>?|[^,"<])+')


def from_outbox(raw: bytes, recipients, signature: str = "") -> ComposeStart:
    """The compose form of a mail whose sending was stopped (undo send): what was written,
    with Bcc recovered from the envelope and the signature (added again at sending) removed."""
    parsed = parse_message(raw)
    shown = {address.email.lower() for address in (*parsed.to, *parsed.cc)}
    bcc = [address for address in recipients if address.lower() not in shown]
    text = parsed.text if parsed.text is not None else body_text(parsed)
    if signature.strip():
        tail = "\n\n-- \n" + signature.strip("\n")
        stripped = text.rstrip("\n")
        if stripped.endswith(tail):
            text = stripped[: -len(tail)]
    return ComposeStart(to=_join(parsed.to), cc=_join(parsed.cc), bcc=", ".join(bcc), subject=parsed.subject,
                        body=text, in_reply_to=parsed.in_reply_to or "", references=parsed.references,
                        attachments=_attachments(raw, parsed))
