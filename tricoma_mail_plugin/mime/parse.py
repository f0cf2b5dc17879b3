"""Reading raw messages: headers, bodies and attachments as plain values.

:func:`parse_message` turns the bytes of one RFC 5322 message into a :class:`ParsedMessage` for the
reading views, :func:`get_part` returns one part's decoded bytes for a download, and
:func:`make_preview` makes the one-line preview of a message list.

Mail is hostile input. Nothing here raises on malformed bytes: what could not be read is noted in
``ParsedMessage.defects``, and limits (nesting depth, number of parts, header and body size) keep
any one message from hanging a worker or filling its memory. Part ids follow IMAP's numbering
("1", "2.1", …), so a part found here can also be fetched from the server as ``BODY[2.1]``.
"""
from __future__ import annotations

import binascii
import codecs
import email
import email.policy
import html as html_entities
import io
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.generator import BytesGenerator
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

import nh3

from .._i18n import _
from .charsets import decode_unlabelled, repair_surrogates, usable_encoding
from .headers import decode_header_text, raw_header_text, split_addresses
from .html_text import html_to_plain_text
from .sanitize import defuse_markup

MAX_DEPTH = 50
MAX_PARTS = 1000
MAX_HEADERS = 500
MAX_HEADER_CHARS = 16_384
MAX_ADDRESS_HEADER_CHARS = 262_144
MAX_ADDRESSES = 1000
MAX_REFERENCES = 200
MAX_DEFECTS = 100
MAX_FILENAME_CHARS = 200
MAX_DECODED_PART_BYTES = 64 * 2**20  # an x-gzip64 part inflates at most to this
DEFAULT_FILENAME = "attachment"

# policy.default's header parser is superlinear (0.6 s for a 200 KB Subject): longer values, and
# any beyond a per-message budget, are kept raw and decoded the compat32 way, which is linear.
_RICH_PARSE_MAX_CHARS = 8192
_RICH_PARSE_BUDGET = 256_000
# Serializing an attached message: keep its header lines and 8-bit bytes as they came.
_SERIALIZE_POLICY = email.policy.compat32.clone(max_line_length=0, cte_type="8bit")


# --- values ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Address:
    """One mailbox of an address header; ``name`` may be empty, ``email`` is the addr-spec."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name and self.email else self.name or self.email


@dataclass(frozen=True)
class Attachment:
    """A part that is not shown as the message's body.

    ``part_id`` is the IMAP part number ("2.1"), ``filename`` is decoded and safe to offer as a
    download name, ``content_type`` is the sender's claim (lower case, well-formed) and must not be
    served verbatim for HTML-like types. ``content_id`` is without angle brackets. ``disposition``
    is "attachment", "inline" or ``None`` when the sender gave none.
    """

    part_id: str
    filename: str
    content_type: str
    size: int
    content_id: str | None = None
    disposition: str | None = None


@dataclass(frozen=True)
class ParsedMessage:
    """What the reading views need of one message.

    ``text`` and ``html`` are the bodies as the sender wrote them (``html`` is *not* sanitized);
    either is ``None`` when the message has no such body. ``inline_parts`` are the parts with a
    Content-ID, which an HTML body may show through ``cid:`` links; those that the HTML does not
    refer to are in ``attachments`` as well. ``defects`` describes what was malformed, ``truncated``
    says a limit left content out (a body cut at ``max_text_chars``, parts beyond the depth or
    count limit).
    """

    subject: str = ""
    from_: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    inline_parts: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    defects: tuple[str, ...] = ()
    truncated: bool = False


# --- public functions --------------------------------------------------------------------------

def parse_message(raw: bytes, *, max_text_chars: int = 2_000_000, with_headers: bool = True) -> ParsedMessage:
    """Parse one raw message.

    Never raises on malformed input, only ``TypeError`` when ``raw`` is not bytes. Each of
    ``text`` and ``html`` is cut to ``max_text_chars`` characters (``truncated`` is then set).
    A leading mbox ``From `` line is ignored. ``with_headers=False`` leaves ``headers`` empty
    (decoding every Received line is a good part of the cost, and a reading view needs none).
    """
    raw = _require_bytes(raw, "parse_message")
    notes = _Notes()
    try:
        return _parse_message(raw, max(0, int(max_text_chars)), notes, with_headers)
    except Exception as exc:  # the last net: a reading view must always get a value
        notes.add("message", f"unreadable ({type(exc).__name__})")
        return ParsedMessage(defects=tuple(notes.defects), truncated=True)


def get_part(raw: bytes, part_id: str) -> tuple[Attachment, bytes] | None:
    """Return the description and the decoded bytes of the leaf part ``part_id`` of ``raw``.

    Any leaf numbered by :func:`parse_message` can be fetched, bodies included; an attached
    message (message/rfc822) comes back whole. Returns ``None`` when there is no such part.
    """
    raw = _require_bytes(raw, "get_part")
    notes = _Notes()
    try:
        message = _parse(raw, notes)
        for leaf in _iter_leaves(message, notes):
            if leaf.part_id == part_id:
                data = _part_bytes(leaf.part)
                return _attachment(leaf, _part_info(leaf.part), len(data)), data
    except Exception:
        return None
    return None


def safe_filename(name: str | None, default: str = DEFAULT_FILENAME) -> str:
    """Make a sender's file name safe to offer for download and to store on disk.

    Keeps only the last path segment, drops control and format characters (including bidi
    overrides), replaces characters Windows forbids, strips leading dots and limits the length
    to 200 characters, keeping the extension.
    """
    if not name:
        return default
    name = unicodedata.normalize("NFC", repair_surrogates(name))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"} or ch in "\t\r\n"
    )
    name = _WINDOWS_FORBIDDEN.sub("_", " ".join(name.split()))
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 20:
            name = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(". ")
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    return name or default


def make_preview(text_or_html: str | None, length: int = 200, *, is_html: bool | None = None) -> str:
    """A one-line preview of a body: whitespace collapsed, quoted text left out, cut to ``length``.

    HTML is recognised by its tags unless ``is_html`` says what the input is; its tags, styles
    and scripts are dropped and entities decoded. Quotes (lines starting with ">", a "… wrote:"
    line before them, HTML blockquotes, an "Original Message" and what follows) are left out
    unless nothing else remains.
    """
    if not text_or_html or length <= 0:
        return ""
    sample = repair_surrogates(text_or_html[:_PREVIEW_SCAN_CHARS])
    if is_html is None:
        is_html = bool(_HTML_HINT.search(sample, 0, 20_000))
    if is_html:
        sample = _html_body_sample(sample)
        lines = _html_to_text(sample, drop_quotes=True).splitlines()
        if not "".join(lines).strip():
            lines = _html_to_text(sample, drop_quotes=False).splitlines()
    else:
        lines = sample.splitlines()
    unquoted = _drop_quotes(lines)
    if "".join(unquoted).strip():
        lines = unquoted
    preview = " ".join(" ".join(lines).split())
    if len(preview) > length:
        preview = preview[: max(length - 1, 0)].rstrip() + "…"
    return preview


# --- parsing -----------------------------------------------------------------------------------

class _Notes:
    """Defects and limit hits collected while reading one message."""

    def __init__(self) -> None:
        self.defects: list[str] = []
        self.truncated = False

    def add(self, where: str, what: str) -> None:
        entry = f"{where}: {what}"
        if len(self.defects) < MAX_DEFECTS and entry not in self.defects:
            self.defects.append(entry)

    def limit(self, where: str, what: str) -> None:
        self.truncated = True
        self.add(where, what)

    def from_part(self, part: Message, where: str) -> None:
        for defect in list(getattr(part, "defects", ()))[:MAX_DEFECTS]:
            self.add(where, type(defect).__name__)


@dataclass
class _Leaf:
    part_id: str
    part: Message
    # (part id of an enclosing multipart/alternative, index of the branch this leaf is in)
    alternatives: tuple[tuple[str, int], ...] = ()
    # a message of a multipart/digest: shown in the body as well as offered as a file
    in_digest: bool = False


@dataclass
class _PartInfo:
    content_type: str
    disposition: str | None
    filename: str | None
    content_id: str | None
    charset: str | None = None
    # a Content-Transfer-Encoding other than the standard ones: the part is a file, never a body
    unusual_encoding: bool = False


def _require_bytes(raw: object, function: str) -> bytes:
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"{function}() needs bytes, not {type(raw).__name__}")
    return bytes(raw)


class _RawHeader(str):
    """A header value kept as the sender wrote it: what compat32 would give."""

    defects: tuple = ()

    def __new__(cls, name: str, value: str) -> _RawHeader:
        header = super().__new__(cls, value)
        header.name = name
        return header


class _HeaderFactory(HeaderRegistry):
    """policy.default's header classes, each distinct value parsed once, within a budget.

    The feed parser looks Content-Type up again and again and policy.default parses it anew each
    time (0.7 s for a message of 3,000 parts). Values that are too long, beyond the budget, or that
    make the parser raise become :class:`_RawHeader`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], object] = {}
        self._budget = _RICH_PARSE_BUDGET

    def __call__(self, name: str, value: str):
        key = (name.lower(), value)
        header = self._parsed.get(key)
        if header is None:
            if len(value) <= min(_RICH_PARSE_MAX_CHARS, self._budget):
                self._budget -= len(value)
                try:
                    header = super().__call__(name, value)
                except Exception:
                    header = None
            if header is None:
                header = _RawHeader(name, value)
            self._parsed[key] = header
        return header


def _parse(raw: bytes, notes: _Notes) -> Message:
    policy = email.policy.default.clone(header_factory=_HeaderFactory())
    try:
        return email.message_from_bytes(raw, policy=policy)
    except Exception as exc:  # RecursionError on very deep nesting, or a parser bug
        notes.limit("message", f"MIME structure unreadable ({type(exc).__name__}); body shown as text")
    try:
        return BytesParser(policy=policy).parsebytes(raw, headersonly=True)
    except Exception as exc:
        notes.add("message", f"headers unreadable ({type(exc).__name__})")
        return EmailMessage(policy=policy)


def _rich_header(part: Message, name: str, value: str):
    """The policy.default header object for ``value``, or ``None`` when it is kept raw."""
    try:
        header = part.policy.header_factory(name, value)
    except Exception:
        return None
    return None if isinstance(header, _RawHeader) else header


def _parse_message(raw: bytes, max_text_chars: int, notes: _Notes, with_headers: bool = True,
                   show_digests: bool = True) -> ParsedMessage:
    message = _parse(raw, notes)
    leaves = list(_iter_leaves(message, notes))
    infos = [_part_info(leaf.part) for leaf in leaves]

    candidates = []
    single_part = len(leaves) == 1 and not _is_container(message)
    for index, (leaf, info) in enumerate(zip(leaves, infos)):
        if leaf.in_digest and show_digests and info.disposition != "attachment":
            kind = "message"
        else:
            kind = _body_kind(info, single_part)
        if kind is None and single_part and info.unusual_encoding:
            note = _decoded_part(leaf.part)[1]
            if note:  # the only part, in an encoding nothing decodes: its raw text is all there is
                notes.add(leaf.part_id, note)
                kind = _body_kind(replace(info, unusual_encoding=False), single_part)
        if kind:
            candidates.append((index, kind))
    chosen = _choose_bodies(leaves, candidates)

    texts: list[str] = []
    htmls: list[str] = []
    shown_in_order: list[str] = []
    plain_beside_html = False
    html_groups = _html_groups(leaves, candidates, chosen)
    budgets = {"text": max_text_chars, "html": max_text_chars}
    for index, kind in candidates:
        if index not in chosen:
            continue
        leaf, info = leaves[index], infos[index]
        if kind == "message":
            shown = _digest_message(leaf, budgets, notes)
            if shown is not None:
                texts.append(shown[0])
                shown_in_order.append(shown[1])
                htmls.append(shown[1])
                plain_beside_html = True
            continue
        if budgets[kind] <= 0:
            notes.limit(leaf.part_id, "body beyond the size limit left out")
            continue
        data = _part_bytes(leaf.part)
        charset = info.charset
        if kind == "html" and not charset:
            charset = _meta_charset(data)
        decoded, cut = _decode_text(data, charset, budgets[kind])
        if cut:
            notes.limit(leaf.part_id, "body cut at the size limit")
        budgets[kind] -= len(decoded)
        (texts if kind == "text" else htmls).append(decoded)
        if kind == "html":
            shown_in_order.append(decoded)
        elif not any(group in html_groups for group, _branch in leaf.alternatives):
            shown_in_order.append(_plain_as_html(decoded))
            plain_beside_html = plain_beside_html or bool(decoded.strip())

    html = "\n".join(htmls) if htmls else None
    text = "\n\n".join(t for t in texts if t.strip()) if texts else None
    if html is not None and plain_beside_html:
        # text/plain beside text/html in a multipart/mixed (not as its alternative): a view that
        # shows the HTML must show the plain parts too, in their place (Thunderbird does)
        html = "\n".join(shown_in_order)
    referenced = {unquote(cid).strip("<>").lower() for cid in _CID_REFERENCE.findall(html or "")}

    attachments: list[Attachment] = []
    inline_parts: list[Attachment] = []
    body_candidates = {index for index, kind in candidates if kind != "message"}
    for index, (leaf, info) in enumerate(zip(leaves, infos)):
        if index in body_candidates:
            continue  # shown as a body, or an alternative body that was not chosen
        data, note = _decoded_part(leaf.part)
        if note:
            notes.add(leaf.part_id, note)
        if not data and not info.filename:
            continue
        described = _attachment(leaf, info, len(data))
        if info.content_id:
            inline_parts.append(described)
            if info.disposition == "attachment" or info.content_id.lower() not in referenced:
                attachments.append(described)
        else:
            attachments.append(described)

    headers = _all_headers(message) if with_headers else ()
    return ParsedMessage(
        subject=" ".join(_first_header(message, "subject").split()),
        from_=_addresses(message, "from"),
        to=_addresses(message, "to"),
        cc=_addresses(message, "cc"),
        bcc=_addresses(message, "bcc"),
        reply_to=_addresses(message, "reply-to"),
        date=_date(message),
        message_id=_message_id(message, "message-id"),
        in_reply_to=_message_id(message, "in-reply-to"),
        references=_references(message),
        text=text,
        html=html,
        attachments=tuple(attachments),
        inline_parts=tuple(inline_parts),
        headers=headers,
        defects=tuple(notes.defects),
        truncated=notes.truncated,
    )


def _iter_leaves(message: Message, notes: _Notes) -> Iterator[_Leaf]:
    """Walk the MIME tree depth first, in order, within the depth and part limits.

    An explicit stack rather than recursion, so the walk itself cannot overflow.
    """
    stack: list[tuple[Message, str, int, tuple[tuple[str, int], ...], str]] = [(message, "", 0, (), "")]
    seen = 0
    while stack:
        part, part_id, depth, alternatives, parent_type = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            notes.limit("message", f"more than {MAX_PARTS} parts; the rest left out")
            return
        notes.from_part(part, part_id or "message")
        if _is_container(part):
            if depth >= MAX_DEPTH:
                notes.limit(part_id, f"nested deeper than {MAX_DEPTH} levels; left out")
                continue
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            container_type = _content_type(part)
            is_alternative = container_type == "multipart/alternative"
            for index in reversed(range(len(children))):
                child_id = f"{part_id}.{index + 1}" if part_id else str(index + 1)
                child_alternatives = alternatives + ((part_id, index),) if is_alternative else alternatives
                stack.append((children[index], child_id, depth + 1, child_alternatives, container_type))
        else:
            in_digest = parent_type == "multipart/digest" and _content_type(part) in _EMBEDDED_MESSAGES
            yield _Leaf(part_id or "1", part, alternatives, in_digest)


def _is_container(part: Message) -> bool:
    # message/rfc822 also holds a list payload, but is offered whole, as an attachment.
    return part.is_multipart() and _content_type(part).startswith("multipart/")


def _choose_bodies(leaves: list[_Leaf], candidates: list[tuple[int, str]]) -> set[int]:
    """Within each multipart/alternative, keep the last branch that has a body of a kind."""
    best: dict[tuple[str, str], int] = {}
    for index, kind in candidates:
        for group, branch in leaves[index].alternatives:
            best[(group, kind)] = max(best.get((group, kind), -1), branch)
    return {
        index
        for index, kind in candidates
        if all(best[(group, kind)] == branch for group, branch in leaves[index].alternatives)
    }


def _html_groups(leaves: list[_Leaf], candidates: list[tuple[int, str]], chosen: set[int]) -> set[str]:
    """The multipart/alternative groups that hold a chosen HTML body."""
    return {group for index, kind in candidates if index in chosen and kind == "html"
            for group, _branch in leaves[index].alternatives}


def _digest_message(leaf: _Leaf, budgets: dict[str, int], notes: _Notes) -> tuple[str, str] | None:
    """A message of a multipart/digest as (text, HTML) to show in its place: its sender and
    subject, then its text (Thunderbird shows a digest so). Digests inside it are not opened."""
    budget = min(budgets["text"], budgets["html"])
    if budget <= 0:
        notes.limit(leaf.part_id, "message beyond the size limit left out")
        return None
    inner = _parse_message(_part_bytes(leaf.part), budget, _Notes(), with_headers=False, show_digests=False)
    if inner.truncated:
        notes.limit(leaf.part_id, "message cut at a limit")
    lines = [(_("From"), ", ".join(str(address) for address in inner.from_)), (_("Subject"), inner.subject)]
    lines = [(label, value) for label, value in lines if value]
    body_text = inner.text if inner.text is not None else html_to_plain_text(inner.html or "")
    text = "".join(f"{label}: {value}\n" for label, value in lines) + "\n" + body_text
    heading = "<br>".join(f"<b>{html_entities.escape(label)}:</b> {html_entities.escape(value)}"
                          for label, value in lines)
    html = f"<hr><p>{heading}</p>" + (inner.html if inner.html is not None else _plain_as_html(body_text))
    budgets["text"] -= len(text)
    budgets["html"] -= len(html)
    return text, html


def _plain_as_html(text: str) -> str:
    return '<div style="white-space: pre-wrap">' + html_entities.escape(text) + "</div>"


def _body_kind(info: _PartInfo, single_part: bool = False) -> str | None:
    """Whether a leaf is a body ("text" or "html"). A named part is a file unless it is marked
    inline, except when it is the message's only part and not marked as an attachment: then
    it is the message's text (as Thunderbird shows it)."""
    if info.disposition == "attachment" or info.unusual_encoding:
        return None
    if info.filename and info.disposition != "inline" and not single_part:
        return None
    if info.content_type == "text/plain":
        return "text"
    if info.content_type == "text/html":
        return "html"
    if info.content_type.startswith("multipart/"):
        return "text"  # a multipart without a usable boundary: its raw body is all we have
    return None


def _part_info(part: Message) -> _PartInfo:
    content_type = _content_type(part)
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    if disposition not in (None, "inline", "attachment"):
        disposition = "attachment"  # RFC 2183: unknown dispositions are treated as attachment
    filename = _filename(part)
    content_id = _first_header(part, "content-id", rich=False).strip().strip("<>").strip() or None
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    if charset is None:
        loose = _LOOSE_CHARSET.search(_first_header(part, "content-type", rich=False))
        charset = loose.group(1).lower() if loose else None
    encoding = _transfer_encoding(part)
    unusual = encoding not in _KNOWN_ENCODINGS and not _IDENTITY_ENCODING.search(encoding)
    return _PartInfo(content_type, disposition, filename, content_id, charset, unusual)


def _filename(part: Message) -> str | None:
    try:
        filename = part.get_filename()
    except Exception:
        filename = None
    if filename is not None and not isinstance(filename, str):
        return None
    if filename and "\ufffd" in filename:
        # policy.default replaced 8-bit bytes of the header; read it again compat32's way
        shadow = Message()
        for header in ("content-disposition", "content-type"):
            for value in _raw_values(part, header)[:1]:
                shadow[header] = repair_surrogates(value)
        try:
            filename = shadow.get_filename() or filename
        except Exception:
            pass
    if filename and "=?" in filename:
        filename = decode_header_text(filename)
    return filename


def _content_type(part: Message) -> str:
    try:
        content_type = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    if len(content_type) > 127:
        return "application/octet-stream"
    if not _CONTENT_TYPE.fullmatch(content_type):
        # "TEXT/PLAIN charset=US-ASCII": the ";" is missing; read the type before the space
        head = content_type.split(None, 1)[0] if content_type.strip() else ""
        return head if _CONTENT_TYPE.fullmatch(head) else "application/octet-stream"
    return content_type


def _attachment(leaf: _Leaf, info: _PartInfo, size: int) -> Attachment:
    filename = info.filename
    if not filename and info.content_type.startswith("message/"):
        embedded = leaf.part.get_payload()
        if isinstance(embedded, list) and embedded and isinstance(embedded[0], Message):
            subject = _first_header(embedded[0], "subject").replace("/", "_").replace("\\", "_")
            filename = f"{subject[:150]}.eml" if subject.strip() else None
    if not filename:
        filename = DEFAULT_FILENAME + _EXTENSIONS.get(info.content_type, "")
    return Attachment(
        part_id=leaf.part_id,
        filename=safe_filename(filename),
        content_type=info.content_type,
        size=size,
        content_id=repair_surrogates(info.content_id)[:998] if info.content_id else None,
        disposition=info.disposition,
    )


def _part_bytes(part: Message) -> bytes:
    return _decoded_part(part)[0]


def _decoded_part(part: Message) -> tuple[bytes, str | None]:
    """The part's bytes, decoded from its Content-Transfer-Encoding, and a note when they could
    not be (an encoding nobody decodes, or a damaged one): the part is then offered as sent."""
    encoding = _transfer_encoding(part)
    if encoding in _GZIP64:
        return _gunzipped(part, encoding)
    data = _payload_bytes(part)
    if encoding in _UUENCODE and not part.is_multipart():
        raw = _raw_payload(part)
        # the stdlib hands the part back as it is when it fails, and decodes a block without
        # its "end" line into a few stray bytes
        begin = _UU_BEGIN.search(raw)
        if data == raw or not begin or not _UU_END.search(raw, begin.end()):
            return raw, f"{encoding} content could not be decoded; offered as sent"
    elif encoding not in _KNOWN_ENCODINGS and not _IDENTITY_ENCODING.search(encoding):
        return data, f"unknown Content-Transfer-Encoding {encoding[:40]!r}; offered as sent"
    return data, None


def _gunzipped(part: Message, encoding: str) -> tuple[bytes, str | None]:
    raw = _raw_payload(part)
    try:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # gzip framing
        data = inflater.decompress(binascii.a2b_base64(raw), MAX_DECODED_PART_BYTES + 1)
    except (binascii.Error, zlib.error, ValueError):
        return raw, f"{encoding} content could not be decoded; offered as sent"
    if len(data) > MAX_DECODED_PART_BYTES:
        return raw, f"{encoding} content larger than {MAX_DECODED_PART_BYTES // 2**20} MB; offered as sent"
    return data, None


def _raw_payload(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, str):  # 8-bit bytes are kept as surrogates: give them back as bytes
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _transfer_encoding(part: Message) -> str:
    value = _first_header(part, "content-transfer-encoding", rich=False).strip().lower()
    return value.split(";", 1)[0].strip()


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/*: the parser holds the embedded message(s)
        buffer = io.BytesIO()
        try:
            generator = BytesGenerator(buffer, mangle_from_=False, policy=_SERIALIZE_POLICY)
            for embedded in payload:
                generator.flatten(embedded)
        except Exception:
            return b""
        return buffer.getvalue()
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


# --- headers -----------------------------------------------------------------------------------

def _raw_values(part: Message, name: str, limit: int = MAX_HEADER_CHARS) -> list[str]:
    try:
        return [
            _unfold(value, limit)
            for key, value in part.raw_items()
            if isinstance(key, str) and key.lower() == name and isinstance(value, str)
        ]
    except Exception:
        return []


def _unfold(value: str, limit: int = MAX_HEADER_CHARS) -> str:
    return _LINE_BREAKS.sub("", value[: limit * 2])[:limit]


def _first_header(part: Message, name: str, *, rich: bool = True) -> str:
    values = _raw_values(part, name)
    if not values:
        return ""
    return decode_header_text(_in_declared_charset(part, values[0])) if rich else _clean_header_text(values[0])


_HAS_SURROGATE = re.compile("[\ud800-\udfff]")


def _in_declared_charset(part: Message, value: str) -> str:
    """Raw 8-bit bytes in a header (kept by the email parser as surrogates) that are not UTF-8
    are read in the charset the message declares for its text, as mail clients do (a KOI8-R
    message's raw Subject is KOI8-R), by the header decoder's own rules."""
    if not _HAS_SURROGATE.search(value):
        return value
    return raw_header_text(value.encode("utf-8", "surrogateescape"), _declared_charset(part))


def _declared_charset(part: Message) -> str | None:
    """The charset of the first text part that names one (the message's own, for a single part)."""
    for leaf in part.walk() if part.is_multipart() else (part,):
        try:
            if leaf.get_content_maintype() == "text" and leaf.get_content_charset():
                return leaf.get_content_charset()
        except Exception:  # noqa: BLE001 - a broken Content-Type names no charset
            continue
    return None


def _clean_header_text(value: str) -> str:
    value = repair_surrogates(value)
    return _HEADER_CONTROLS.sub(lambda match: " " if match.group() in "\t\r\n" else "", value)


def _all_headers(message: Message) -> tuple[tuple[str, str], ...]:
    try:
        items = list(message.raw_items())[:MAX_HEADERS]
    except Exception:
        return ()
    headers = []
    for name, value in items:
        if isinstance(name, str) and isinstance(value, str):
            value = _in_declared_charset(message, _unfold(value))
            headers.append((_clean_header_text(name), decode_header_text(value)))
    return tuple(headers)


def _addresses(message: Message, name: str) -> tuple[Address, ...]:
    # the message list's summaries split and decode with the same function (headers.py)
    found: list[Address] = []
    for value in _raw_values(message, name, MAX_ADDRESS_HEADER_CHARS):
        found.extend(Address(display, address)
                     for display, address in split_addresses(_in_declared_charset(message, value)))
        if len(found) >= MAX_ADDRESSES:
            break
    return tuple(found[:MAX_ADDRESSES])


def _date(message: Message) -> datetime | None:
    values = _raw_values(message, "date")
    if not values:
        return None
    value = values[0].strip()[:200]
    try:
        moment = _rich_header(message, "date", value).datetime
    except Exception:
        moment = None
    if moment is None:
        try:
            moment = parsedate_to_datetime(value)
        except Exception:
            return None
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, origin unknown (RFC 5322 3.3)
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _message_id(message: Message, name: str) -> str | None:
    values = _raw_values(message, name)
    if not values:
        return None
    value = _clean_header_text(values[0]).strip()
    found = _MESSAGE_ID.search(value)
    if found:
        return found.group()
    return value[:998] or None


def _references(message: Message) -> tuple[str, ...]:
    values = _raw_values(message, "references")
    if not values:
        return ()
    value = _clean_header_text(values[0])
    found = _MESSAGE_ID.findall(value) or value.split()
    return tuple(found[:MAX_REFERENCES])


# --- text decoding -----------------------------------------------------------------------------

def _decode_text(data: bytes, charset: str | None, limit: int) -> tuple[str, bool]:
    """Decode ``data`` by its declared charset, else UTF-8, else cp1252 with replacements.

    Returns the text, at most ``limit`` characters, and whether anything was cut off.
    """
    cut = len(data) > limit * 4
    if cut:
        data = data[: limit * 4]
    text = None
    for encoding in _candidate_encodings(charset):
        try:
            text = codecs.getincrementaldecoder(encoding)("strict").decode(data, final=not cut)
            break
        except Exception:
            continue
    if text is None:
        text = decode_unlabelled(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\x00", "")
    if len(text) > limit:
        text, cut = text[:limit], True
    return text, cut


def _candidate_encodings(charset: str | None) -> list[str]:
    encodings = []
    declared = usable_encoding(charset)
    if declared:
        encodings.append(declared)
    if "utf-8" not in encodings:
        encodings.append("utf-8")
    return encodings


def _meta_charset(data: bytes) -> str | None:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii", "replace") if found else None


# --- previews ----------------------------------------------------------------------------------

def _html_body_sample(html: str) -> str:
    body = _BODY_START.search(html)
    if body:
        html = html[body.end():]
    for tag in ("style", "script"):
        html = _drop_elements(html, tag)
    return defuse_markup(html[:_PREVIEW_HTML_CHARS])


def _drop_elements(html: str, tag: str) -> str:
    """Remove ``<tag>…</tag>`` blocks with plain searches: linear even on hostile input."""
    lower = html.lower()
    pieces, position = [], 0
    while True:
        start = lower.find("<" + tag, position)
        if start < 0:
            break
        end = lower.find("</" + tag, start)
        pieces.append(html[position:start])
        if end < 0:
            position = len(html)
            break
        close = lower.find(">", end)
        position = close + 1 if close >= 0 else len(html)
    pieces.append(html[position:])
    return "".join(pieces)


def _html_to_text(html: str, *, drop_quotes: bool) -> str:
    dropped = _PREVIEW_DROPPED | ({"blockquote"} if drop_quotes else set())
    cleaned = nh3.clean(
        html,
        tags=_PREVIEW_BLOCKS - dropped,
        clean_content_tags=dropped,
        attributes={},
        link_rel=None,
    )
    return html_entities.unescape(_ANY_TAG.sub("\n", cleaned))


def _drop_quotes(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        if _ORIGINAL_MESSAGE.match(stripped):
            break
        if stripped.startswith(">"):
            if kept and _ATTRIBUTION.search(kept[-1]):
                kept.pop()
            continue
        kept.append(line)
    return kept


# --- tables and patterns -----------------------------------------------------------------------

_LINE_BREAKS = re.compile(r"[\r\n]+")
_HEADER_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,998}>")
_LOOSE_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_CID_REFERENCE = re.compile(r"cid:([^\s\"'<>)]+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta[^<>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE
)
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
)

_UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
_UU_BEGIN = re.compile(rb"^begin [0-7]{3,4} ", re.MULTILINE)
_UU_END = re.compile(rb"^end[ \t\r]*$", re.MULTILINE)
_GZIP64 = frozenset({"x-gzip64", "gzip64"})
_KNOWN_ENCODINGS = frozenset({"", "7bit", "8bit", "binary", "base64", "quoted-printable"})
# "7-bit", "8bits", "none": senders' spellings of "as it is"
_IDENTITY_ENCODING = re.compile(r"^(?:[78][ _-]?bits?|binary|none)$")
_EMBEDDED_MESSAGES = frozenset({"message/rfc822", "message/global"})
_EXTENSIONS = {
    "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "text/csv": ".csv",
    "text/vcard": ".vcf", "text/x-vcard": ".vcf", "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml", "message/global": ".eml", "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt", "image/png": ".png", "image/jpeg": ".jpg",
    "image/gif": ".gif", "image/webp": ".webp", "application/pdf": ".pdf",
    "application/zip": ".zip", "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
}

_PREVIEW_SCAN_CHARS = 300_000
_PREVIEW_HTML_CHARS = 100_000
_HTML_HINT = re.compile(
    r"<(?:!doctype|html|head|body|div|p|br|table|span|a|font|b|i|u|img|td|tr|style|meta|center)[\s/>]",
    re.IGNORECASE,
)
_BODY_START = re.compile(r"<body\b[^<>]*>?", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*>")
_PREVIEW_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "table", "ul", "ol", "dl", "dt", "dd", "pre",
     "hr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer",
     "blockquote"}
)
_PREVIEW_DROPPED = frozenset({"script", "style", "title", "template", "noscript"})
_ATTRIBUTION = re.compile(r"(wrote|schrieb|écrit|escribió|scritto|napisał)\s*:\s*$", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(original message|ursprüngliche nachricht|forwarded message"
    r"|weitergeleitete nachricht)\s*-{2,}$",
    re.IGNORECASE,
)
