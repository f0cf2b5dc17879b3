"""Turn IMAP FETCH responses into :class:`MessageSummary` values, fast.

We fetch only the header fields the cache keeps (``BODY.PEEK[HEADER.FIELDS (…)]``), not
ENVELOPE or BODYSTRUCTURE: the server sends a quarter of the bytes and parsing a few header
lines is much cheaper than parsing IMAP's nested ENVELOPE lists.
"""
from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from tricoma_mail_plugin import MessageSummary

HEADER_FIELDS = (
    "FROM", "TO", "CC", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
)
HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]"
_HEADER_KEY = ("BODY[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]").encode()

_FOLD = re.compile(rb"\r?\n[ \t]+")
_ENCODED = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_Q_ESCAPE = re.compile(r"=([0-9A-Fa-f]{2})")
_CHARSET_ALIASES = {"unknown-8bit": "latin-1", "x-unknown": "latin-1", "ks_c_5601-1987": "euc-kr"}
_ENCODED_WORD = "=?"
_MAX_FIELD = 4000


def fetch_items(with_modseq: bool, with_preview: bool) -> list[str]:
    items = ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", HEADER_ITEM]
    if with_modseq:
        items.append("MODSEQ")
    if with_preview:
        items.append("PREVIEW")
    return items


def parse_header_block(block: bytes) -> dict[str, str]:
    """Unfold and decode a header block into ``{lower-case name: decoded value}`` (first wins)."""
    fields: dict[str, str] = {}
    for line in _FOLD.sub(b" ", block or b"").split(b"\n"):
        name, sep, value = line.partition(b":")
        if not sep or not name or name[:1] in b" \t":
            continue
        key = name.strip().decode("ascii", "replace").lower()
        if key not in fields:
            fields[key] = decode_value(value.strip())
    return fields


def decode_value(raw: bytes) -> str:
    """Decode a header value: RFC 2047 words, else UTF-8 (RFC 6532), else Latin-1."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\r", "")[:_MAX_FIELD]
    if _ENCODED_WORD in text:
        text = decode_encoded_words(text)
    return text.replace("\x00", "")


def decode_encoded_words(text: str) -> str:
    """RFC 2047: decode each ``=?charset?B|Q?…?=`` word; whitespace between two encoded words
    is dropped. Words that do not decode stay as they are."""
    parts = []
    position = 0
    previous_was_word = False
    for match in _ENCODED.finditer(text):
        between = text[position:match.start()]
        if not (previous_was_word and not between.strip()):
            parts.append(between)
        decoded = _decode_word(*match.groups())
        parts.append(decoded if decoded is not None else match.group(0))
        previous_was_word = decoded is not None
        position = match.end()
    parts.append(text[position:])
    return "".join(parts)


def _decode_word(charset: str, encoding: str, payload: str) -> str | None:
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix
    try:
        if encoding in "bB":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = _Q_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), payload.replace("_", " ")).encode("latin-1")
        return data.decode(_CHARSET_ALIASES.get(charset.lower(), charset), "replace")
    except (LookupError, ValueError, UnicodeError, binascii.Error):
        return None


def parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def summary_from_fetch(uid: int, data: dict) -> MessageSummary:
    fields = parse_header_block(data.get(_HEADER_KEY) or _header_block(data))
    flags = stored_flags(data.get(b"FLAGS", ()))
    internal_date = data.get(b"INTERNALDATE")
    if isinstance(internal_date, datetime):
        if internal_date.tzinfo is None:
            internal_date = internal_date.replace(tzinfo=timezone.utc)
        internal_date = internal_date.astimezone(timezone.utc)
    content_type = fields.get("content-type", "").lower()
    preview = data.get(b"PREVIEW")
    modseq = data.get(b"MODSEQ")
    return MessageSummary(
        uid=uid,
        flags=flags,
        size=int(data.get(b"RFC822.SIZE") or 0),
        internal_date=internal_date if isinstance(internal_date, datetime) else None,
        from_=fields.get("from", ""),
        to=fields.get("to", ""),
        cc=fields.get("cc", ""),
        subject=fields.get("subject", ""),
        date=parse_date(fields.get("date", "")),
        message_id=fields.get("message-id", "").strip()[:998],
        in_reply_to=fields.get("in-reply-to", "").strip(),
        references=fields.get("references", "").strip(),
        has_attachment=content_type.startswith("multipart/mixed") or content_type.startswith("application/"),
        preview=" ".join(_text(preview).split())[:200] if preview else "",
        modseq=int(modseq[0]) if isinstance(modseq, (tuple, list)) and modseq else None,
    )


def stored_flags(raw_flags) -> tuple[str, ...]:
    """The flags worth keeping: ``\\Recent`` belongs to one IMAP session, not to the message."""
    return tuple(flag for flag in (_text(f) for f in raw_flags) if flag != "\\Recent")


def _header_block(data: dict) -> bytes:
    # Servers may echo the section with different spacing or case; find it by prefix.
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(b"BODY[HEADER.FIELDS"):
            return value or b""
    return b""


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value) if value is not None else ""
