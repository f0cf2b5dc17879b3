"""Which addresses core may connect to for a mailbox (IMAP, SMTP, autodiscovery's HTTPS): the
guard against server-side request forgery.

Any signed-in user may create a mailbox and point it at any host and port; without a guard the
server would connect wherever they say, and the Test's answers would map the server's own
network. So every connection for a mailbox goes through :meth:`AddressPolicy.connect`: the host
name is resolved once, each address is checked, and the socket is connected to a checked address
(never to the name again, which a second DNS answer could point elsewhere: DNS rebinding). TLS
still verifies the certificate against the configured host name; the caller wraps the socket.

An address passes when it is public (not loopback, link-local, private, shared, multicast or
reserved), or when an entry of the allow list matches it: the entries of the config key
``TRICOMA_MAIL_ALLOWED_MAIL_SERVERS`` plus those an admin keeps on Admin → Mail servers (stored in
:class:`~tricoma_mail_plugin.models.AllowedMailServer`). An entry is an address, a network, or a
host name, each with an optional port or port range::

    127.0.0.1          10.0.0.0/8:993          mail.intern:143-993          [fd00::5]:993

The policy applies to every mailbox, whoever configured it (see docs/security.md); system mail,
which only admins configure, uses :data:`OPEN_POLICY`.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .._state import all_or_nothing, mail_state
from ..errors import InvalidSettings, ServerNotAllowed
from ..models import AllowedMailServer, utcnow

log = logging.getLogger(__name__)

IpAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IpNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
AddressInfo = tuple[Any, ...]  # one entry of socket.getaddrinfo

MAX_ENTRIES = 200
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class AllowEntry:
    """One entry of the allow list: a network or a host name, and the ports it covers."""

    text: str
    network: IpNetwork | None
    host: str | None
    first_port: int = 1
    last_port: int = 65535

    def matches(self, host: str, address: IpAddress, port: int) -> bool:
        """Whether a connection to ``address`` (resolved from ``host``) on ``port`` is covered."""
        if not self.first_port <= port <= self.last_port:
            return False
        if self.network is not None:
            return address.version == self.network.version and address in self.network
        return _normal_host(host) == self.host


def parse_entry(text: str) -> AllowEntry:
    """Read one allow-list entry (``10.0.0.0/8``, ``127.0.0.1:10143``, ``mail.intern:143-993``,
    ``[::1]:993``); raises :class:`InvalidSettings` saying what is wrong."""
    entry = (text or "").strip()
    target, ports = entry, ""
    if entry.startswith("["):
        target, _bracket, rest = entry[1:].partition("]")
        if not _bracket or (rest and not rest.startswith(":")):
            raise _invalid(entry)
        ports = rest[1:]
    elif entry.count(":") == 1:
        target, ports = entry.split(":")
    first, last = _port_range(entry, ports)
    try:
        network = ipaddress.ip_network(target, strict=False)
    except ValueError:
        network = None
    if network is not None:
        return AllowEntry(entry, network, None, first, last)
    host = _normal_host(target)
    if not _HOST_NAME.match(host):
        raise _invalid(entry)
    return AllowEntry(entry, None, host, first, last)


def _port_range(entry: str, ports: str) -> tuple[int, int]:
    if not ports:
        return 1, 65535
    low, _dash, high = ports.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise _invalid(entry)
    first, last = int(low), int(high or low)
    if not 0 < first <= last < 65536:
        raise _invalid(entry)
    return first, last


def _invalid(entry: str) -> InvalidSettings:
    return InvalidSettings(_("%(entry)s is not an address, a network or a host name with an optional "
                             "port (e.g. 10.0.0.0/8, 127.0.0.1:993, mail.example.com:143-993).",
                             entry=entry[:100]), field="entries")


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def is_public(address: IpAddress) -> bool:
    """Whether ``address`` is a public unicast address (IPv4 addresses inside IPv6, as mapped,
    6to4 or NAT64 ones, are judged by the IPv4 address they carry)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )


@dataclass(frozen=True)
class AddressPolicy:
    """What may be connected to: public addresses and the allow list, or (``open``) anything."""

    allow: tuple[AllowEntry, ...] = ()
    open: bool = False

    def permits(self, host: str, address: str, port: int) -> bool:
        """Whether a connection to ``address`` (one of ``host``'s addresses) on ``port`` passes."""
        if self.open:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return is_public(ip) or any(entry.matches(host, ip, port) for entry in self.allow)

    def resolve(self, host: str, port: int) -> list[AddressInfo]:
        """Resolve ``host`` once and keep the addresses that pass. Raises :class:`ServerNotAllowed`
        when none does, ``socket.gaierror`` when the name is unknown."""
        infos = socket.getaddrinfo(_normal_host(host), port, type=socket.SOCK_STREAM)
        allowed = [info for info in infos if self.permits(host, info[4][0], port)]
        if not allowed:
            refused = ", ".join(sorted({info[4][0] for info in infos}))
            log.info("mail server %s:%s refused by the address policy (%s)", host, port, refused)
            raise ServerNotAllowed(detail=f"{host}:{port} -> {refused}")
        return allowed

    def connect(self, host: str, port: int, timeout: float | None,
                addresses: Sequence[AddressInfo] | None = None) -> socket.socket:
        """A TCP socket connected to a checked address of ``host`` (``addresses``: the result of
        :meth:`resolve`, when the caller resolved already). Wrap it for TLS with
        ``server_hostname=host``."""
        checked = list(addresses) if addresses is not None else self.resolve(host, port)
        last_error: OSError | None = None
        for family, kind, protocol, _name, address in checked:
            sock = socket.socket(family, kind, protocol)
            try:
                sock.settimeout(timeout)
                sock.connect(address)
            except OSError as error:
                sock.close()
                last_error = error
                continue
            return sock
        raise last_error or OSError(f"no address to connect to for {host}")


#: Public addresses only: the default for settings built without a policy.
PUBLIC_ONLY = AddressPolicy()
#: Any address: for servers only admins configure (system mail).
OPEN_POLICY = AddressPolicy(open=True)


# -- the allow list -------------------------------------------------------------------------------


def configured_entries() -> list[str]:
    """The entries of ``TRICOMA_MAIL_ALLOWED_MAIL_SERVERS`` (a list, or one string separated by
    commas, spaces or line breaks)."""
    value = current_app.config.get("TRICOMA_MAIL_ALLOWED_MAIL_SERVERS") or ()
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    return [str(item).strip() for item in value if str(item).strip()]


def stored_entries() -> list[str]:
    """The entries an admin keeps on the allow-list page, in their order."""
    query = select(AllowedMailServer.entry).order_by(AllowedMailServer.id)
    return list(mail_state().db.session.scalars(query))


def save_entries(lines: Iterable[str], actor: str) -> list[str]:
    """Replace the stored allow list by ``lines`` (empty lines dropped, duplicates kept once).
    Refuses the whole list (:class:`InvalidSettings`) if one entry is invalid. Commits."""
    entries = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if len(entries) > MAX_ENTRIES:
        raise InvalidSettings(_("At most %(count)d entries.", count=MAX_ENTRIES), field="entries")
    for entry in entries:
        parse_entry(entry)
    with all_or_nothing():
        session = mail_state().db.session
        session.query(AllowedMailServer).delete()
        for entry in entries:
            session.add(AllowedMailServer(entry=entry, created_by=str(actor), created_at=utcnow()))
        session.commit()
    return entries


def mail_server_policy() -> AddressPolicy:
    """The policy for mailboxes of the current app: public addresses, plus the configured and
    the stored allow list. An invalid configured entry is logged and left out."""
    allow = []
    for text in [*configured_entries(), *stored_entries()]:
        try:
            allow.append(parse_entry(text))
        except InvalidSettings:
            log.warning("TRICOMA_MAIL_ALLOWED_MAIL_SERVERS: %r is not a valid entry; ignored", text)
    return AddressPolicy(tuple(allow))
