"""A lean parser for the one FETCH response sync asks for thousands of times.

imapclient parses any IMAP response with a general tokenizer; for summaries that costs ten
times what the server needs to send them. imaplib already splits the response into text and
literals; here a few regular expressions pick out the items we asked for. The result has the
same shape as imapclient's (a dict per UID keyed by item name), so the rest of the code does
not care which parser ran.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterator

_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)")
_PREVIEW = re.compile(rb'\bPREVIEW (?:"((?:[^"\\]|\\.)*)"|NIL)')
_LITERAL_KEY = re.compile(rb"(BODY\[[^\]]*\](?:<\d+>)?|PREVIEW) \{\d+\}$")
_UNESCAPE = re.compile(rb"\\(.)")
_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1)}
_DATE = re.compile(rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")


class FetchParseError(ValueError):
    """The server's FETCH response is not what was asked for."""


class ConnectionLost(EOFError):
    """The server closed the connection in the middle of a response."""


def parse_fetch(data: list) -> Iterator[tuple[int, dict]]:
    """``(uid, items)`` for each message in imaplib's FETCH ``data`` (bytes and
    ``(text, literal)`` tuples). Items use imapclient's keys (``b"UID"``, ``b"FLAGS"``, …)."""
    texts: list[bytes] = []
    literals: dict[bytes, bytes] = {}
    open_message = False
    for element in data:
        if isinstance(element, tuple):
            head, literal = element
            match = _LITERAL_KEY.search(head)
            if match is None:
                raise FetchParseError("unexpected literal in FETCH response")
            literals[match.group(1).upper().replace(b".PEEK", b"")] = literal
            texts.append(head[:match.start(1)])
            open_message = True
        elif isinstance(element, bytes):
            texts.append(element)
            yield _message(b" ".join(texts), literals)
            texts, literals, open_message = [], {}, False
        elif element is not None:
            raise FetchParseError("unexpected element in FETCH response")
    if open_message:
        raise FetchParseError("FETCH response ended inside a message")


def _message(text: bytes, literals: dict[bytes, bytes]) -> tuple[int, dict]:
    uid = _UID.search(text)
    if uid is None:
        raise FetchParseError("FETCH response without UID")
    items: dict = {b"UID": int(uid.group(1))}
    flags = _FLAGS.search(text)
    if flags:
        items[b"FLAGS"] = tuple(flags.group(1).split())
    size = _SIZE.search(text)
    if size:
        items[b"RFC822.SIZE"] = int(size.group(1))
    internal = _INTERNALDATE.search(text)
    if internal:
        items[b"INTERNALDATE"] = parse_internaldate(internal.group(1))
    modseq = _MODSEQ.search(text)
    if modseq:
        items[b"MODSEQ"] = (int(modseq.group(1)),)
    preview = _PREVIEW.search(text)
    if preview and preview.group(1) is not None:
        items[b"PREVIEW"] = _UNESCAPE.sub(rb"\1", preview.group(1))
    for key, literal in literals.items():
        items[key] = literal
    return items[b"UID"], items


def parse_internaldate(value: bytes) -> datetime | None:
    match = _DATE.match(value)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        moment = datetime(int(year), _MONTHS[month.capitalize()], int(day), int(hour), int(minute),
                          int(second), tzinfo=timezone(offset if sign == b"+" else -offset))
    except (KeyError, ValueError):
        return None
    return moment.astimezone(timezone.utc)


_LITERAL = re.compile(rb"\{(\d+)\}$")


def read_fetch_response(imap, tag: bytes) -> list:
    """Read the answer to a FETCH that ``imap`` (an ``imaplib.IMAP4``) sent under ``tag``,
    into imaplib's shape: per message a bytes element, or ``(text, literal)`` tuples followed by
    the rest of the line. Untagged answers other than FETCH are skipped. Raises
    ``FetchParseError`` when the server says NO or BAD, and :class:`ConnectionLost` the moment
    the connection ends (a closed socket reads as ``b""`` at once, forever: without this check
    the loop would never end and no timeout would fire)."""
    data: list = []
    done = tag + b" "
    while True:
        line = _line(imap)
        if line.startswith(done):
            status = line[len(done):].split(b" ", 1)[0].upper()
            if status != b"OK":
                raise FetchParseError(line[:200].decode("latin-1", "replace").strip())
            return data
        body = line.rstrip(b"\r\n")
        if body.startswith(b"* ") and b" FETCH " not in body[:40]:
            continue  # EXISTS, EXPUNGE, VANISHED… arrive here too; sync asks for them itself
        literal = _LITERAL.search(body)
        while literal is not None:
            size = int(literal.group(1))
            content = imap.read(size)
            if len(content) != size:
                raise ConnectionLost("the connection was closed inside a FETCH literal")
            data.append((body, content))
            body = _line(imap).rstrip(b"\r\n")
            literal = _LITERAL.search(body)
        data.append(body)


def _line(imap) -> bytes:
    line = imap.readline()
    if not line.endswith(b"\n"):
        raise ConnectionLost("the connection was closed inside a FETCH response")
    return line
