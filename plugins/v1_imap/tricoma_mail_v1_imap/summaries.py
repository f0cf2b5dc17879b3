"""Turn IMAP FETCH responses into :class:`MessageSummary` values, fast.

We fetch only the header fields the cache keeps (``BODY.PEEK[HEADER.FIELDS (…)]``), not
ENVELOPE or BODYSTRUCTURE: the server sends a quarter of the bytes and parsing a few header
lines is much cheaper than parsing IMAP's nested ENVELOPE lists.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from tricoma_mail_plugin import MessageSummary, address_list_text, decode_header_text

HEADER_FIELDS = (
    "FROM", "TO", "CC", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
)
HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]"
_HEADER_KEY = ("BODY[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]").encode()

_CHARSET_PARAM = re.compile(rb"(?im)^content-type:[^\n]*?charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})")
_FOLD = re.compile(rb"\r?\n[ \t]+")
_ADDRESS_FIELDS = frozenset({"from", "to", "cc"})
_MAX_FIELD = 4000
_MAX_FIELD_BYTES = 4 * _MAX_FIELD


def fetch_items(with_modseq: bool, with_preview: bool) -> list[str]:
    items = ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", HEADER_ITEM]
    if with_modseq:
        items.append("MODSEQ")
    if with_preview:
        items.append("PREVIEW")
    return items


def parse_header_block(block: bytes) -> dict[str, str]:
    """Unfold and decode a header block into ``{lower-case name: decoded value}`` (first wins).

    Values are decoded by core's header decoder, the one the reading view uses; address headers
    stay splittable (a decoded display name with a comma is quoted)."""
    fields: dict[str, str] = {}
    unfolded = _FOLD.sub(b" ", block or b"")
    # Raw 8-bit header bytes that are not UTF-8 are read in the charset the message declares,
    # as the reading view does; only such (rare) blocks pay for looking it up.
    charset = None if unfolded.isascii() else _declared_charset(unfolded)
    for line in unfolded.split(b"\n"):
        name, sep, value = line.partition(b":")
        if not sep or not name or name[:1] in b" \t":
            continue
        key = name.strip().decode("ascii", "replace").lower()
        if key not in fields:
            value = value.strip()[:_MAX_FIELD_BYTES]
            decode = address_list_text if key in _ADDRESS_FIELDS else decode_header_text
            fields[key] = decode(value, charset)[:_MAX_FIELD]
    return fields


def _declared_charset(block: bytes) -> str | None:
    found = _CHARSET_PARAM.search(block)
    return found.group(1).decode("ascii") if found else None


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
