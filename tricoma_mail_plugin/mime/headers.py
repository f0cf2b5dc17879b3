"""Header text as people read it: the one decoder of the message list and the reading view.

The sync's summaries (the list) and :func:`.parse.parse_message` (the reading view) both decode
header values here, so a subject or a sender reads the same in both. It is a fast, lenient
RFC 2047 decoder in the way mail clients read real mail:

- adjacent encoded words of one charset are joined as bytes before decoding (a sender may split a
  UTF-8 character over two words), and the whitespace between encoded words is dropped;
- charset labels are read as browsers read them (:mod:`.charsets`); an unknown label, or raw
  8-bit bytes in a header, are read as UTF-8 when they are, else as windows-1252;
- a word that does not decode stays as it is written; control characters become spaces.

Address headers are split before their display names are decoded (an encoded ``Müller, Anna``
holds a comma); what does not split into addresses is shown as written.
"""
from __future__ import annotations

import binascii
import re
import unicodedata
from email.utils import getaddresses
from functools import lru_cache

from .charsets import decode_unlabelled, repair_surrogates, usable_encoding

MAX_ADDRESSES = 1000
MAX_UNPARSED_SENDER_CHARS = 200


def decode_header_text(value: str | bytes, charset: str | None = None) -> str:
    """The text of one (unfolded) header value.

    ``value`` is the raw value as bytes, or as the email parser's text (which keeps 8-bit bytes
    as surrogates). Raw 8-bit bytes are read as UTF-8, else in ``charset`` (the one the message
    declares for its text), else as windows-1252. Never raises.
    """
    if value.__class__ is bytes:  # the sync's case, inlined: it runs for every header it lists
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = _in_charset(value, charset)
    else:
        text = raw_header_text(value)
    if "=?" in text:
        text = _decode_encoded_words(text)[0]
    if not text.isprintable():
        text = _CONTROLS.sub(_control_replacement, text)
    return text


def split_addresses(value: str | bytes) -> list[tuple[str, str]]:
    """``(display name, address)`` pairs of an address header, display names decoded.

    ``addr (Full Name)`` names the sender by its comment. A value that does not split into
    addresses (``x@y@z``, ``"" <>``, an empty group) is one pair of its decoded text and ``""``:
    shown as written rather than as nobody.
    """
    text = raw_header_text(value)
    if _CONTROLS.search(text):
        text = _CONTROLS.sub(_control_replacement, text)
    try:
        parsed = getaddresses([text])
    except Exception:  # noqa: BLE001 - a header the address parser chokes on is shown as written
        parsed = []
    pairs = []
    for display, address in parsed[:MAX_ADDRESSES]:
        display = _unquoted(" ".join(decode_header_text(display or "").split()))
        address = (address or "").strip()
        if address == "<>":
            address = ""
        if display or address:
            pairs.append((display, address))
    if text.strip() and (not pairs or any(_unusable(address) for _, address in pairs)):
        return [(" ".join(decode_header_text(text).split())[:MAX_UNPARSED_SENDER_CHARS], "")]
    return pairs


def address_list_text(value: str | bytes, charset: str | None = None) -> str:
    """An address header decoded to text that :func:`split_addresses` splits the same way as
    the raw value: display names that hold a comma, a quote or an angle bracket once decoded are
    quoted. The message list stores this and shows :func:`sender_label` of it. ``charset``: as
    for :func:`decode_header_text`."""
    raw = raw_header_text(value, charset)
    if "=?" not in raw:
        return _decoded(raw)  # no encoded word: the text splits as the raw value does
    text, brought_specials = _decode_encoded_words(raw)
    if not brought_specials:  # no decoded name holds a comma, quote or bracket: it splits the same
        return _decoded(text)
    pairs = split_addresses(raw)
    if len(pairs) == 1 and not pairs[0][1]:
        return pairs[0][0]
    return ", ".join(address_text(display, address) for display, address in pairs)


def sender_label(value: str) -> str:
    """What a list shows for an address header: the first display name, else the first address,
    else the text as it is (the reading view shows the same name)."""
    for display, address in split_addresses(value or ""):
        if display or address:
            return display or address
    return (value or "").strip()


SENDER_SORT_CHARS = 200


@lru_cache(maxsize=4096)
def sender_sort_key(value: str) -> str:
    """What a list sorts a message by when it sorts by sender: :func:`sender_label` of the cached
    From text, case- and accent-insensitive (``"Zoe" <z@x>`` sorts as ``zoe``, ``Ärger`` with
    ``arger``), at most :data:`SENDER_SORT_CHARS` long. The sync stores it with every message it
    caches, in the thread that writes them: the common shapes (``Name <a@b>``, ``"Name" <a@b>``,
    ``=?utf-8?q?…?= <a@b>``, ``a@b``) are read without the address parser (18 µs a sender), and
    a sender met before is looked up (a mailbox's mail comes from far fewer senders than it has
    messages)."""
    value = value or ""
    plain = _PLAIN_SENDER.match(value) if value.isprintable() else None
    if plain is None or plain.group("quoted") is not None and "=?" in plain.group("quoted"):
        label = sender_label(value)
    else:
        quoted, bare, address, lone = plain.groups()
        name = quoted if quoted is not None else bare or ""
        if quoted is None and "=?" in name:
            name = decode_header_text(name)  # encoded words, as the address parser reads them
        label = " ".join(name.split()) or address or lone
    key = label.casefold()
    if not key.isascii():
        key = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", key))
    return key[:SENDER_SORT_CHARS]


def raw_header_text(value: str | bytes, charset: str | None = None) -> str:
    """A raw header value as text, nothing decoded yet: bytes are read as UTF-8, else in
    ``charset``, else as windows-1252; the parser's surrogates are repaired."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return _in_charset(bytes(value), charset)
    return repair_surrogates(value)


def _in_charset(data: bytes, charset: str | None) -> str:
    encoding = usable_encoding(charset) if charset else None
    if encoding is not None:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_unlabelled(data)


def _decoded(text: str) -> str:
    if "=?" in text:
        text = _decode_encoded_words(text)[0]
    if not text.isprintable():
        text = _CONTROLS.sub(_control_replacement, text)
    return text


def _decode_encoded_words(text: str) -> tuple[str, bool]:
    """The text with its encoded words decoded, and whether a decoded word holds a special."""
    pieces: list = []  # text as written, or [charset, bytes] of a run of adjacent words
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        if data is None:  # not decodable: keep it as written
            pieces.append(between + match.group(0))
            after_word = False
        else:
            charset = charset.partition("*")[0].lower()  # "utf-8*de": RFC 2231 language
            if after_word and not between.strip(" \t\r\n"):
                if pieces[-1][0] == charset:
                    pieces[-1][1] += data
                else:
                    pieces.append([charset, data])
            else:
                pieces.append(between)
                pieces.append([charset, data])
            after_word = True
        position = match.end()
    pieces.append(text[position:])
    specials = False
    for index, piece in enumerate(pieces):
        if not isinstance(piece, str):
            pieces[index] = decoded = _decode_run(*piece)
            specials = specials or _SPECIALS.search(decoded) is not None
    return "".join(pieces), specials


def _decode_run(charset: str, data: bytes) -> str:
    encoding = usable_encoding(charset)
    return data.decode(encoding, "replace") if encoding else decode_unlabelled(data)


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        data = payload.encode("ascii")
    except UnicodeEncodeError:
        data = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "bB":
            if _NOT_BASE64.search(data):
                return None
            return binascii.a2b_base64(data + b"==")  # senders often leave the padding out
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def _unusable(address: str) -> bool:
    # what the address parser makes of "x@y@z": "@z"
    return "@" in address and (address.startswith("@") or address.endswith("@") or address.count("@") > 1)


def _unquoted(display: str) -> str:
    # a name quoted twice ('"\\"Anna\\"" <a@b>') or an encoded word that holds the quotes
    while len(display) >= 2 and display[0] == display[-1] == '"':
        display = display[1:-1].strip()
    return display


def address_text(display: str, address: str) -> str:
    """``Name <address>`` as an address field holds it: a name with a comma, a quote, an angle
    bracket or another special quoted, so that it splits back into the same one address."""
    if not display:
        return address
    if _SPECIALS.search(display):
        display = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{display} <{address}>" if address else display


def _control_replacement(match: re.Match) -> str:
    return " " if match.group() in "\t\r\n" else ""


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
# ``Name <a@b>``, ``"Name" <a@b>``, ``<a@b>`` or ``a@b`` with nothing the address parser would read
# differently (comments, groups, lists, escapes, a second "@")
_ADDRESS = r'[^\s"<>(),;:\\@\[\]]+@[^\s"<>(),;:\\@\[\]]+'
_PLAIN_SENDER = re.compile(
    rf'\s*(?:(?:"(?P<quoted>[^"\\]*)"\s*|(?P<bare>[^"<>(),;:\\@\[\]]*))<(?P<address>{_ADDRESS})>'
    rf'|(?P<lone>{_ADDRESS}))\s*\Z')
_COMBINING_MARKS = re.compile("[\u0300-\u036f]")  # the accents of Latin, Greek and Cyrillic letters
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,"]')  # RFC 5322 specials but ".", which a name may hold
