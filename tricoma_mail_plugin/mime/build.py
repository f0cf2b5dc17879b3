"""Building the RFC 5322 bytes of mail we send: validated recipients (Bcc never in the bytes),
RFC 2047 subjects and RFC 2231 file names (by the stdlib's ``email`` package), sanitized HTML
with a generated text alternative, inline images, attachments within a size limit, reply
headers, the signature and a Message-ID fixed here, once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid

from .._i18n import _
from ..errors import MailError
from .html_text import html_to_plain_text
from .sanitize import sanitize_html

_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MESSAGE_ID = re.compile(r"^<[^<>\s]{1,250}>$")


class InvalidMessage(MailError):
    """A part of the message cannot be sent as it is; ``field`` names which."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class HeaderInjection(InvalidMessage):
    """A header value contains a line break (an attempt to add headers of its own)."""


SHOWN_INVALID_ADDRESSES = 20


class InvalidAddresses(InvalidMessage):
    """Recipients that are not valid e-mail addresses, every one of them (as typed), so that the
    user can fix them all at once; ``field`` is the first field that holds one."""

    def __init__(self, addresses: list[str], field: str | None = None) -> None:
        self.addresses = list(dict.fromkeys(addresses))
        if len(self.addresses) == 1:
            message = _("%(address)s is not a valid e-mail address.", address=self.addresses[0])
        elif len(self.addresses) <= SHOWN_INVALID_ADDRESSES:
            message = _("These are not valid e-mail addresses: %(addresses)s.", addresses="; ".join(self.addresses))
        else:  # a pasted list of thousands: the first ones and how many more
            message = _("These are not valid e-mail addresses: %(addresses)s and %(more)d more.",
                        addresses="; ".join(self.addresses[:SHOWN_INVALID_ADDRESSES]),
                        more=len(self.addresses) - SHOWN_INVALID_ADDRESSES)
        super().__init__(message, field)


@dataclass(frozen=True)
class AttachmentData:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None  # set for an inline image the HTML shows as cid:<content_id>


@dataclass(frozen=True)
class OutgoingMessage:
    """What the user (or an app) wrote; recipients as ``"Name <addr>"`` or ``"addr"`` strings."""

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: tuple[AttachmentData, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # Bulk mail: the recipient's one-click unsubscribe URL (RFC 8058), sent as List-Unsubscribe
    # with List-Unsubscribe-Post.
    list_unsubscribe: str | None = None


@dataclass(frozen=True)
class BuiltMessage:
    message: EmailMessage  # without Bcc; hooks may still change it (before_send)
    sender: str  # the envelope sender
    bcc: tuple[str, ...]  # addresses that receive it without appearing in it

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def recipients(self) -> tuple[str, ...]:
        """The envelope recipients: To and Cc as the message says now, plus Bcc."""
        listed = getaddresses([str(v) for name in ("To", "Cc") for v in self.message.get_all(name, [])])
        return tuple(dict.fromkeys([address for _name, address in listed if address] + list(self.bcc)))

    def as_bytes(self) -> bytes:
        if self.message.get("Bcc") is not None:
            raise HeaderInjection(_("A Bcc header must never be part of the message."), "bcc")
        for name, value in self.message.items():
            _no_line_breaks(str(value), name)
        return self.message.as_bytes(policy=SMTP)


class _Verbatim(str):
    """A header value written as it is, on one line: the email package would fold a long URL
    into encoded words, which no mail client reads as a link (RFC 2369 wants it literal)."""

    name: str

    def __new__(cls, name: str, value: str) -> "_Verbatim":
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def _no_line_breaks(value: str, field_name: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(_("Line breaks are not allowed in %(field)s.", field=field_name), field_name)
    return value


def parse_address(text: str, field_name: str) -> Address:
    """One ``Name <addr>`` or ``addr``; raises :class:`InvalidMessage` naming the bad address."""
    _no_line_breaks(text, field_name)
    parsed = getaddresses([text])
    if len(parsed) != 1 or not parsed[0][1]:
        raise InvalidMessage(_("%(address)s is not a valid e-mail address.", address=text.strip()), field_name)
    name, address = parsed[0]
    local, at, domain = address.rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    labels = ascii_domain.split(".")
    if not at or not _LOCAL.match(local) or ".." in local or local.startswith(".") or local.endswith(".") \
            or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidMessage(_("%(address)s is not a valid e-mail address.", address=text.strip()), field_name)
    return Address(display_name=name.strip(), username=local, domain=ascii_domain)


def parse_addresses(values, field_name: str) -> list[Address]:
    """Every address of a header field; a string may hold several separated by commas. Raises
    :class:`InvalidAddresses` naming every part that is not an address, not only the first."""
    addresses, invalid = [], []
    for value in values or ():
        _no_line_breaks(value, field_name)
        for part in _split(value):
            try:
                addresses.append(parse_address(part, field_name))
            except HeaderInjection:
                raise
            except InvalidMessage:
                invalid.append(part.strip())
    if invalid:
        raise InvalidAddresses(invalid, field_name)
    return addresses


def _split(value: str) -> list[str]:
    # getaddresses understands quoted display names with commas inside.
    parts = []
    for name, address in getaddresses([value]):
        if not name and not address:
            continue
        parts.append(str(Address(display_name=name, addr_spec=address)) if address and name else (address or name))
    if not parts and value.strip():  # what getaddresses cannot read at all ("carol@"): refused with its text
        parts.append(value)
    return parts


def build_message(outgoing: OutgoingMessage, sender_name: str, sender_address: str,
                  signature: str = "", draft: bool = False,
                  max_attachment_bytes: int | None = None) -> BuiltMessage:
    """The message to send and to file in Sent, and its envelope; raises :class:`InvalidMessage`.
    A ``draft`` may lack recipients and keep them as typed, half an address included (they are
    checked when it is sent, as Thunderbird saves what is typed); its Bcc is kept as a header
    (it is never sent as it is)."""
    sender = parse_address(f"{_no_line_breaks(sender_name, 'from')} <{sender_address}>"
                           if sender_name else sender_address, "from")
    to, cc, bcc = _all_recipients(outgoing, draft)
    reply_to = parse_addresses(outgoing.reply_to, "reply_to")
    if not (to or cc or bcc) and not draft:
        raise InvalidMessage(_("Enter at least one recipient."), "to")
    subject = _no_line_breaks(outgoing.subject or "", "subject")
    limit = max_attachment_bytes
    total = sum(len(attachment.data) for attachment in outgoing.attachments)
    if limit is not None and total > limit:
        raise InvalidMessage(_("The attachments are larger than the limit of %(limit)s MB.",
                               limit=round(limit / 1024 / 1024, 1)), "attachments")

    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    if reply_to:
        message["Reply-To"] = reply_to
    if draft and bcc:
        message["Bcc"] = bcc
    message["Subject"] = subject
    message["Date"] = format_datetime(_now())
    message["Message-ID"] = make_msgid(domain=sender.domain)
    for header, value in (("In-Reply-To", outgoing.in_reply_to), ("References", " ".join(outgoing.references))):
        if value:
            ids = [_message_id(part, header) for part in value.split()]
            message[header] = " ".join(ids)
    if outgoing.list_unsubscribe:
        url = _no_line_breaks(outgoing.list_unsubscribe, "list_unsubscribe")
        if not url.startswith(("https://", "http://")) or any(ch in url for ch in "<> ") or len(url) > 900:
            raise InvalidMessage(_("The unsubscribe link must be an https:// URL."), "list_unsubscribe")
        message.set_raw("List-Unsubscribe", _Verbatim("List-Unsubscribe", f"<{url}>"))
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["MIME-Version"] = "1.0"

    text, html = _bodies(outgoing, signature)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        inline = [a for a in outgoing.attachments if a.content_id]
        if inline:
            html_part = message.get_payload()[1]
            for attachment in inline:
                maintype, subtype = _split_type(attachment.content_type)
                html_part.add_related(attachment.data, maintype, subtype, cid=f"<{attachment.content_id}>",
                                      filename=attachment.filename)
    for attachment in outgoing.attachments:
        if attachment.content_id and html is not None:
            continue
        filename = _no_line_breaks(attachment.filename, "attachments") or "attachment"
        maintype, subtype = _split_type(attachment.content_type)
        if (maintype, subtype) == ("message", "rfc822"):
            # RFC 2046: a forwarded message travels as itself (7bit/8bit), never base64.
            forwarded = BytesParser(policy=SMTP).parsebytes(attachment.data)
            message.add_attachment(forwarded, filename=filename)
        else:
            message.add_attachment(attachment.data, maintype, subtype, filename=filename)
    envelope_bcc = tuple(address.addr_spec for address in bcc) if isinstance(bcc, list) else ()  # a draft's as typed
    return BuiltMessage(message, sender.addr_spec, envelope_bcc)


def _all_recipients(outgoing: OutgoingMessage, draft: bool) -> list[list[Address] | str]:
    """To, Cc and Bcc (:func:`_recipients`); the addresses that are not valid in any of them are
    refused together, in one :class:`InvalidAddresses`."""
    parsed, invalid, first = [], [], None
    for field_name, values in (("to", outgoing.to), ("cc", outgoing.cc), ("bcc", outgoing.bcc)):
        try:
            parsed.append(_recipients(values, field_name, draft))
        except InvalidAddresses as error:
            invalid += error.addresses
            first = first or field_name
    if invalid:
        raise InvalidAddresses(invalid, first)
    return parsed


def _recipients(values, field_name: str, draft: bool) -> list[Address] | str:
    """:func:`parse_addresses`; for a draft whose field holds something that is no address
    yet, the field as typed (one line, the email package encodes it)."""
    try:
        return parse_addresses(values, field_name)
    except HeaderInjection:
        raise
    except InvalidMessage:
        if not draft:
            raise
        return ", ".join(value.strip() for value in values if value.strip())


def _bodies(outgoing: OutgoingMessage, signature: str) -> tuple[str, str | None]:
    html = None
    if outgoing.html:
        html = sanitize_html(outgoing.html, allow_remote=True).html
        if signature:
            html += "<p>-- <br>" + "<br>".join(_escape(line) for line in signature.splitlines()) + "</p>"
    text = outgoing.text if outgoing.text is not None else (html_to_plain_text(html) if html else "")
    if signature:
        text = text.rstrip("\n") + "\n\n-- \n" + signature.strip("\n") + "\n"
    return text, html


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _message_id(value: str, header: str) -> str:
    value = _no_line_breaks(value.strip(), header)
    if not _MESSAGE_ID.match(value):
        raise InvalidMessage(_("%(value)s is not a valid message id.", value=value), header)
    return value


def _split_type(content_type: str) -> tuple[str, str]:
    maintype, _slash, subtype = (content_type or "").lower().partition("/")
    if not maintype or not subtype or not re.match(r"^[a-z0-9.+-]+$", maintype + subtype):
        return "application", "octet-stream"
    return maintype, subtype


def _now() -> datetime:
    return datetime.now(timezone.utc)
