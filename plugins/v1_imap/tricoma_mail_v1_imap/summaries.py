"""Turn IMAP FETCH responses into :class:`MessageSummary` values, fast.

We fetch only the header fields the cache keeps (``BODY.PEEK[HEADER.FIELDS (…)]``), not
ENVELOPE or BODYSTRUCTURE: the server sends a quarter of the bytes and parsing a few header
lines is much cheaper than parsing IMAP's nested ENVELOPE lists.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tricoma_mail_plugin import MessageSummary, address_list_text, decode_header_text

HEADER_FIELDS = (
    "FROM", "TO", "CC", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
)
HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]"
_HEADER_KEY = ("BODY[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]").encode()

_CHARSET_PARAM = re.compile(rb"(?im)^content-type:[^\n]*?charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})")
_FOLD = re.compile(rb"\r?\n[ \t]+")
# A header line with its continuation lines: (name, raw value)
_FIELD = re.compile(rb"^([^:\n]*):([^\n]*(?:\n[ \t][^\n]*)*)", re.M)
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
    if not block:
        return fields
    if block.isascii():
        return _parse_ascii_block(block.decode("ascii"), fields)
    # Raw 8-bit header bytes that are not UTF-8 are read in the charset the message declares,
    # as the reading view does; only such (rare) blocks pay for looking it up.
    charset = _declared_charset(_FOLD.sub(b" ", block))
    for name, value in _FIELD.findall(block):
        key = _FIELD_KEYS.get(name)
        if key is None:
            if not name or name[:1] in b" \t":
                continue
            key = name.strip().decode("ascii", "replace").lower()
            if len(_FIELD_KEYS) < 256:
                _FIELD_KEYS[name] = key
        if key in fields:
            continue
        if b"\n" in value:
            value = _FOLD.sub(b" ", value)
        value = value.strip()
        if value.isascii() and b"=?" not in value:
            # Nothing to decode (most Message-IDs, dates, references): the text as it is,
            # unless a control character needs the decoder's treatment.
            text = value.decode("ascii")
            if text.isprintable():
                fields[key] = text[:_MAX_FIELD]
                continue
        fields[key] = _decoded(key in _ADDRESS_FIELDS, value[:_MAX_FIELD_BYTES], charset)
    return fields


_FIELD_KEYS: dict[bytes, str] = {}  # a header name as written → its lower-case key
_FOLD_TEXT = re.compile(r"\r?\n[ \t]+")
_FIELD_TEXT = re.compile(r"^([^:\n]*):([^\n]*(?:\n[ \t][^\n]*)*)", re.M)  # as _FIELD, on text
_TEXT_KEYS: dict[str, str] = {}
_ASCII_SPACE = " \t\n\r\x0b\x0c"  # what bytes.strip() strips (str.strip() also strips \x1c-\x1f)


def _parse_ascii_block(text: str, fields: dict[str, str]) -> dict[str, str]:
    """:func:`parse_header_block` of a block that is all ASCII (nearly every one), as text: only
    values with encoded words or control characters go through the decoder; the same values as
    the general path, without its per-field checks."""
    for name, value in _FIELD_TEXT.findall(text):
        key = _TEXT_KEYS.get(name)
        if key is None:
            if not name or name[:1] in " \t":
                continue
            key = name.strip(_ASCII_SPACE).lower()
            if len(_TEXT_KEYS) < 256:
                _TEXT_KEYS[name] = key
        if key in fields:
            continue
        if "\n" in value:
            value = _FOLD_TEXT.sub(" ", value)
        value = value.strip(_ASCII_SPACE)
        if "=?" not in value and value.isprintable():
            fields[key] = value[:_MAX_FIELD]
        else:
            fields[key] = _decoded(key in _ADDRESS_FIELDS, value.encode("ascii")[:_MAX_FIELD_BYTES], None)
    return fields


@functools.lru_cache(maxsize=8192)
def _decoded(address: bool, value: bytes, charset: str | None) -> str:
    """A decoded header value; remembered, since the same senders and recipients come back in
    message after message of a sync."""
    return (address_list_text if address else decode_header_text)(value, charset)[:_MAX_FIELD]


def _declared_charset(block: bytes) -> str | None:
    found = _CHARSET_PARAM.search(block)
    return found.group(1).decode("ascii") if found else None


_PLAIN_DATE = re.compile(r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d\d)(?::(\d\d))?"
                         r"\s+([+-]\d{4})\s*$")
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ZONES: dict[str, timezone] = {}  # "+0100" → its zone: a sync sees the same few message after message


def parse_date(value: str) -> datetime | None:
    if not value:
        return None
    plain = _PLAIN_DATE.match(value)
    if plain is not None:
        # The form nearly every mail's Date has, read without the general parser (same result).
        day, month_name, year, hour, minute, second, zone_text = plain.groups()
        month = _MONTHS.get(month_name.lower())
        if month is not None:
            try:
                zone = _ZONES.get(zone_text) or _zone(zone_text)
                moment = datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=zone)
                return moment if zone is timezone.utc else moment.astimezone(timezone.utc)
            except (ValueError, OverflowError):
                pass  # the general parser decides
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


def _zone(text: str) -> timezone:
    """The zone of an offset as a Date header writes it (``+0100``, ``-0530``); remembered."""
    offset = timedelta(hours=int(text[1:3]), minutes=int(text[3:5]))
    zone = timezone.utc if not offset else timezone(-offset if text[0] == "-" else offset)
    if len(_ZONES) < 256:
        _ZONES[text] = zone
    return zone


T = TypeVar("T")


def summary_from_fetch(uid: int, data: dict, make: Callable[..., T] = MessageSummary) -> T:
    """The summary of a message's FETCH items (``data``, keyed as :func:`fetch_parser.read_fetch`
    keys them). ``make`` gets the summary's fields positionally, in :class:`MessageSummary`'s
    order: a worker process that sends them on as a tuple (``tuple_of``) skips the value."""
    fields = parse_header_block(data.get(_HEADER_KEY) or _header_block(data))
    get = fields.get
    internal_date = data.get(b"INTERNALDATE")
    if isinstance(internal_date, datetime):
        if internal_date.tzinfo is not timezone.utc:
            if internal_date.tzinfo is None:
                internal_date = internal_date.replace(tzinfo=timezone.utc)
            internal_date = internal_date.astimezone(timezone.utc)
    else:
        internal_date = None
    content_type = get("content-type")
    preview = data.get(b"PREVIEW")
    modseq = data.get(b"MODSEQ")
    return make(
        uid,
        stored_flags(data.get(b"FLAGS", ())),
        int(data.get(b"RFC822.SIZE") or 0),
        internal_date,
        get("from", ""),
        get("to", ""),
        get("cc", ""),
        get("subject", ""),
        parse_date(get("date", "")),
        get("message-id", "").strip()[:998],
        get("in-reply-to", "").strip(),
        get("references", "").strip(),
        content_type.lower().startswith(_ATTACHMENT_TYPES) if content_type else False,
        _preview_text(preview) if preview else "",
        int(modseq[0]) if isinstance(modseq, (tuple, list)) and modseq else None,
    )


def _preview_text(preview) -> str:
    """The preview on one line, whitespace runs as one space, at most 200 characters."""
    text = _text(preview)
    # Printable text has no whitespace but the space (str.isprintable): most previews are
    # already one line with single spaces, and split-and-join would give them back unchanged.
    if not (text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "):
        text = " ".join(text.split())
    return text[:200]


def tuple_of(*fields) -> tuple:
    """``make`` for :func:`summary_from_fetch`: the fields as they are."""
    return fields


_ATTACHMENT_TYPES = ("multipart/mixed", "application/")  # a message with these has attachments


def stored_flags(raw_flags) -> tuple[str, ...]:
    """The flags worth keeping: ``\\Recent`` belongs to one IMAP session, not to the message."""
    if type(raw_flags) is tuple:  # a sync sees the same few combinations message after message
        try:
            return _stored_flags_of(raw_flags)
        except TypeError:  # an unhashable element
            pass
    return _kept_flags(raw_flags)


@functools.lru_cache(maxsize=1024)
def _stored_flags_of(raw_flags: tuple) -> tuple[str, ...]:
    return _kept_flags(raw_flags)


def _kept_flags(raw_flags) -> tuple[str, ...]:
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
