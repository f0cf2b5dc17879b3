"""A lean reader and parser for the one FETCH response sync asks for thousands of times.

imapclient parses any IMAP response with a general tokenizer; for summaries that costs ten
times what the server needs to send them. :func:`read_fetch` reads the answer line by line,
takes each literal by its announced size (no tokenizer looks into it) and picks the items we
asked for out of the text around the literals with one regular expression, in whatever order
the server sends them. The result has the same shape as imapclient's (a dict per UID keyed by
item name), so the rest of the code does not care which parser ran.
"""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

# Every item a summary asks for, in one pass: a name at the start of an item (not inside
# another word) and its value as a number, a parenthesised list, a quoted string or NIL.
_ITEM = re.compile(rb'(?<![^ (])(UID|RFC822\.SIZE|FLAGS|INTERNALDATE|MODSEQ|PREVIEW) '
                   rb'(?:(\d+)|\(([^)]*)\)|"([^"\\]*(?:\\.[^"\\]*)*)"|NIL)')
_LITERAL_KEY = re.compile(rb"(?<![^ (])(BODY(?:\.PEEK)?\[[^\]]*\](?:<\d+>)?|PREVIEW) $", re.I)
_UNESCAPE = re.compile(rb"\\(.)")
_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1)}
_DATE = re.compile(rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")


class FetchParseError(ValueError):
    """The server's FETCH response is not what was asked for."""


class ConnectionLost(EOFError):
    """The server closed the connection in the middle of a response."""


def read_fetch(imap, tag: bytes) -> dict[int, dict]:
    """Read and parse the answer to a FETCH that ``imap`` (an ``imaplib.IMAP4``) sent under
    ``tag``: ``{uid: items}``, items keyed as imapclient keys them (``b"UID"``, ``b"FLAGS"``,
    ``b"BODY[HEADER.FIELDS (…)]"``…).

    Untagged answers other than FETCH are skipped (EXISTS, EXPUNGE, VANISHED… arrive here too;
    sync asks for them itself). Raises :class:`FetchParseError` when the server says NO or BAD,
    or, once the answer is read to its tagged end, when it held a message without UID or a
    literal under an item we did not ask for; :class:`ConnectionLost` the moment the connection
    ends (a closed socket reads as ``b""`` at once, forever: without this check the loop would
    never end and no timeout would fire)."""
    done = tag + b" "
    found: dict[int, dict] = {}
    failure: FetchParseError | None = None  # raised once the answer is read to its end
    while True:
        line = _line(imap)
        if line.startswith(done):
            status = line[len(done):].split(b" ", 1)[0].upper()
            if status != b"OK":
                raise FetchParseError(line[:200].decode("latin-1", "replace").strip())
            if failure is not None:
                raise failure
            return found
        if line.startswith(b"* ") and b" FETCH " not in line[:40]:
            continue
        items: dict = {}
        text = b""
        body = line.rstrip(b"\r\n")
        while body.endswith(b"}"):
            brace = body.rfind(b"{")
            size = body[brace + 1:-1]
            if brace < 0 or not size.isdigit():
                break  # no literal after all: the text decides
            content = imap.read(int(size))
            if len(content) != int(size):
                raise ConnectionLost("the connection was closed inside a FETCH literal")
            before, key = _literal_key(body[:brace])
            if key is None:
                failure = failure or FetchParseError("unexpected literal in FETCH response")
            items[key] = content
            text += before
            line = _line(imap)
            if line.startswith(done):
                raise FetchParseError("FETCH response ended inside a message")
            body = line.rstrip(b"\r\n")
        uid = _read_items(text + body, items)
        if uid is None or None in items:
            # Not what we asked for (or the bytes of a broken connection): read on to the end
            # of the answer, so the connection stays usable, or fails as a connection.
            failure = failure or FetchParseError("FETCH response without UID")
        elif uid in found:  # a second FETCH of one message (a flag change meanwhile): the later items win
            found[uid].update(items)
        else:
            found[uid] = items


def read_answer(stream, tag: bytes) -> bytes:
    """The bytes of the answer to the command sent under ``tag``, up to and including its tagged
    line, taken from ``stream`` (a buffered reader: imaplib's ``file``) by what it holds, not line
    by line: literals are skipped by their announced size, and nothing after the tagged line is
    consumed (the answer to a command sent after this one may be waiting behind it). Parse the
    bytes with :func:`parse_answer`. Raises :class:`ConnectionLost` when the connection ends."""
    done = tag + b" "
    pieces: list[bytes] = []
    literal = 0  # bytes of a literal still to come
    partial = b""  # the start of a line the stream holds no more of yet
    while True:
        held = stream.peek(1 << 16)
        if not held:
            raise ConnectionLost("the connection was closed inside a FETCH response")
        position, size = 0, len(held)
        while position < size:
            if literal:
                taken = min(literal, size - position)
                position += taken
                literal -= taken
                continue
            end = held.find(b"\n", position)
            if end < 0:
                partial += held[position:]
                position = size
                break
            line = partial + held[position:end + 1] if partial else held[position:end + 1]
            partial = b""
            position = end + 1
            if line.startswith(done):
                pieces.append(stream.read(position))
                return b"".join(pieces)
            body = line.rstrip(b"\r\n")
            if body.endswith(b"}"):
                brace = body.rfind(b"{")
                if brace >= 0 and body[brace + 1:-1].isdigit():
                    literal = int(body[brace + 1:-1])
        pieces.append(stream.read(position))


def read_answer_apart(stream, tag: bytes, taken: list[bytes]) -> bytes:
    """:func:`read_answer` for a FETCH that asked for the full bytes too (``BODY.PEEK[]``): each
    message's full bytes are appended to ``taken`` instead, and the answer holds, in their place,
    a literal of their index there (``BODY[] {2}\r\n17``). The answer stays small to hand to a
    worker process; :func:`parse_answer` reads the index as the item's value."""
    done = tag + b" "
    pieces: list[bytes] = []
    while True:
        line = stream.readline()
        if not line.endswith(b"\n"):
            raise ConnectionLost("the connection was closed inside a FETCH response")
        if line.startswith(done):
            pieces.append(line)
            return b"".join(pieces)
        body = line.rstrip(b"\r\n")
        brace = body.rfind(b"{") if body.endswith(b"}") else -1
        if brace < 0 or not body[brace + 1:-1].isdigit():
            pieces.append(line)
            continue
        size = int(body[brace + 1:-1])
        content = stream.read(size)
        if len(content) != size:
            raise ConnectionLost("the connection was closed inside a FETCH literal")
        if _literal_key(body[:brace])[1] == b"BODY[]":
            index = str(len(taken)).encode("ascii")
            taken.append(content)
            pieces.append(b"%s{%d}\r\n%s" % (body[:brace], len(index), index))
        else:
            pieces.append(line)
            pieces.append(content)


def merge_fetched(into: dict[int, dict], found: dict[int, dict]) -> None:
    """Add ``found`` (:func:`read_fetch`'s answer) to ``into`` item by item, not message by
    message: a FETCH nobody asked for (a flag another client changed) may name a message again,
    in a later command's answer, with only some of its items."""
    for uid, items in found.items():
        into.setdefault(uid, {}).update(items)


def parse_answer(answer: bytes, tag: bytes) -> dict[int, dict]:
    """:func:`read_fetch` over an answer :func:`read_answer` read (in a worker process, say):
    the same result, by :func:`_parse_common_answer` when every message is laid out as Dovecot
    answers a summary FETCH, else by :func:`read_fetch` itself."""
    found = _parse_common_answer(answer, tag)
    return found if found is not None else read_fetch(io.BytesIO(answer), tag)


# A summary as Dovecot answers our FETCH, up to its header block's literal: its items in the
# order Dovecot sends them, the preview a literal, a plain quoted string (no escapes), NIL or
# left out (a server without PREVIEW), MODSEQ left out without CONDSTORE. Numbers of at most
# 20 digits (a sequence number that long keeps " FETCH " within the 40 bytes read_fetch looks
# at; int() takes any of them), a field list without brackets.
_COMMON_HEAD = re.compile(
    rb'\* \d{1,20} FETCH \(UID (\d{1,20}) FLAGS \(([^()\r\n]*)\) RFC822\.SIZE (\d{1,20}) '
    rb'INTERNALDATE "([^"\\\r\n]*)"(?: MODSEQ \((\d{1,20})\))?(?: PREVIEW (?:\{(\d{1,20})\}\r\n|"([^"\\\r\n]*)"|NIL))?')
_COMMON_HEADER = re.compile(rb' (BODY\[HEADER\.FIELDS \([^()\[\]\r\n]*\)\]) \{(\d{1,20})\}\r\n')


def _parse_common_answer(answer: bytes, tag: bytes) -> dict[int, dict] | None:
    """:func:`read_fetch`'s result for an answer whose messages all look as Dovecot sends them
    (``_COMMON_HEAD``, the header block, ``)``), read by position and one expression per
    message instead of line by line; ``None`` for anything else (another server's order,
    another item, an escape, a failure), which :func:`read_fetch` then reads."""
    if not tag.isalnum():  # a tag that could begin a line inside a message (imaplib's never do)
        return None
    done = tag + b" "
    found: dict[int, dict] = {}
    position, size = 0, len(answer)
    head, header = _COMMON_HEAD.match, _COMMON_HEADER.match
    while position < size:
        if answer.startswith(done, position):
            status = answer[position + len(done):position + len(done) + 3]
            return found if status.upper() == b"OK " and answer.endswith(b"\n") else None
        match = head(answer, position)
        if match is None:
            end = answer.find(b"\n", position) + 1
            if end == 0 or not answer.startswith(b"* ", position) or b" FETCH " in answer[position:end]:
                return None
            position = end  # EXISTS, EXPUNGE…: read_fetch skips them too
            continue
        uid, flags, rfc822_size, internal_date, modseq, preview_size, preview = match.groups()
        items: dict = {b"UID": int(uid), b"FLAGS": tuple(flags.split()), b"RFC822.SIZE": int(rfc822_size)}
        if internal_date:
            items[b"INTERNALDATE"] = parse_internaldate(internal_date)
        if modseq is not None:
            items[b"MODSEQ"] = (int(modseq),)
        position = match.end()
        if preview_size is not None:
            end = position + int(preview_size)
            if end > size:
                return None
            items[b"PREVIEW"] = answer[position:end]
            position = end
        elif preview:
            items[b"PREVIEW"] = preview
        block = header(answer, position)
        if block is None:
            return None
        start = block.end()
        end = start + int(block.group(2))
        if not answer.startswith(b")\r\n", end):
            return None
        items[_body_key(block.group(1))] = answer[start:end]
        position = end + 3
        if items[b"UID"] in found:
            found[items[b"UID"]].update(items)
        else:
            found[items[b"UID"]] = items
    return None


def _body_key(name: bytes) -> bytes:
    """imapclient's key of a ``BODY[…]`` item as the server names it (both readers' literals)."""
    key = _LITERAL_KEYS.get(name)
    if key is None:
        key = name.upper().replace(b".PEEK", b"")
        if len(_LITERAL_KEYS) < 64:
            _LITERAL_KEYS[name] = key
    return key


_LITERAL_KEYS: dict[bytes, bytes] = {}  # an item as the server names it → imapclient's key


def _literal_key(head: bytes) -> tuple[bytes, bytes | None]:
    """(the text before the item, the item's key) of a line that announces a literal: our
    ``BODY[HEADER.FIELDS (…)]`` and ``PREVIEW`` are found by how the line ends, anything else
    by the general expression; ``None`` for an item we did not ask for."""
    if head.endswith(b"] "):
        start = head.rfind(b"BODY[")
        if start == 0 or start > 0 and head[start - 1] in b" (":
            return head[:start], _body_key(head[start:-1])
    elif head.endswith(b" PREVIEW ") or head == b"PREVIEW ":
        return head[:-8], b"PREVIEW"
    match = _LITERAL_KEY.search(head)
    if match is None:
        return head, None
    return head[:match.start(1)], match.group(1).upper().replace(b".PEEK", b"")


def _read_items(text: bytes, items: dict) -> int | None:
    """Add the items of a message's text (its literals cut out) to ``items``; its UID."""
    for name, number, listed, quoted in _ITEM.findall(text):
        if name == b"UID":
            if number:
                items[b"UID"] = int(number)
        elif name == b"FLAGS":
            items[b"FLAGS"] = tuple(listed.split())
        elif name == b"RFC822.SIZE":
            if number:
                items[b"RFC822.SIZE"] = int(number)
        elif name == b"INTERNALDATE":
            if quoted:
                items[b"INTERNALDATE"] = parse_internaldate(quoted)
        elif name == b"MODSEQ":
            if listed.isdigit():
                items[b"MODSEQ"] = (int(listed),)
        elif quoted:  # PREVIEW; NIL or "" is no preview
            items[b"PREVIEW"] = _UNESCAPE.sub(rb"\1", quoted) if b"\\" in quoted else quoted
    return items.get(b"UID")


_ZONES: dict[bytes, timezone] = {b"+0000": timezone.utc}


def parse_internaldate(value: bytes) -> datetime | None:
    """An INTERNALDATE (``"01-Jan-2024 07:17:00 +0100"``) in UTC; ``None`` when it is not one."""
    if len(value) == 26 and value[2:3] == value[6:7] == b"-" and value[11:12] == value[20:21] == b" " \
            and value[14:15] == value[17:18] == b":":  # the form servers send, read by position
        zone = _ZONES.get(value[21:])
        month = _MONTHS.get(value[3:6])
        # Digits where _DATE wants them: int() would also take " 202" or "+7".
        if zone is not None and month is not None and value[1:2].isdigit() \
                and (value[:1] == b" " or value[:1].isdigit()) and value[7:11].isdigit() \
                and value[12:14].isdigit() and value[15:17].isdigit() and value[18:20].isdigit():
            try:
                moment = datetime(int(value[7:11]), month, int(value[:2]), int(value[12:14]), int(value[15:17]),
                                  int(value[18:20]), tzinfo=zone)
            except ValueError:
                return None
            return moment if zone is timezone.utc else moment.astimezone(timezone.utc)
    match = _DATE.match(value)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        zone = timezone(offset if sign == b"+" else -offset)
        moment = datetime(int(year), _MONTHS[month.capitalize()], int(day), int(hour), int(minute),
                          int(second), tzinfo=zone)
    except (KeyError, ValueError):
        return None
    if len(_ZONES) < 64 and match.end() == len(value):
        _ZONES[value[-5:]] = zone
    return moment.astimezone(timezone.utc)


def _line(imap) -> bytes:
    line = imap.readline()
    if not line.endswith(b"\n"):
        raise ConnectionLost("the connection was closed inside a FETCH response")
    return line
