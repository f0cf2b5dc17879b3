"""Find the IMAP and SMTP servers of an e-mail address (SPEC M2).

`discover` tries, in this order, and stops at the first answer:

1. the built-in `PRESETS` table (Gmail, Yahoo, WEB.DE, GMX, T-Online, IONOS, Outlook.com,
   Exchange Online),
2. Mozilla autoconfig files: the domain's own, then its ``.well-known`` one, then Thunderbird's ISPDB,
3. DNS SRV records (RFC 6186, RFC 8314),
4. the domain's MX hosts: a known provider's preset, else autoconfig for the MX host's domain,
5. a guess (``imap.<domain>`` and ``smtp.<domain>``).

All network access goes through two injectable callables, so tests and callers decide what may be
reached: a resolver with ``srv(name)`` and ``mx(domain)`` (default: `DnsResolver`, dnspython) and
``http_get(url, timeout) -> (status, body)`` (default: `urllib_http_get`, https only).

Notes in a `Discovery` are English message ids marked with `N_`; the UI translates them with
gettext at display time.
"""
from __future__ import annotations

import dataclasses
import functools
import http.client
import ipaddress
import logging
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Iterable, Literal, Mapping, Protocol, Sequence
from xml.etree import ElementTree
from xml.parsers import expat

log = logging.getLogger(__name__)

ServerProtocol = Literal["imap", "smtp"]
Security = Literal["tls", "starttls", "none"]
Source = Literal["preset", "autoconfig", "srv", "mx", "guess"]
HttpGet = Callable[[str, float], "tuple[int, bytes]"]
#: ``open_socket(host, port, timeout)``: a connected TCP socket, opened where the caller allows.
OpenSocket = Callable[[str, int, "float | None"], socket.socket]

PROTOCOLS: frozenset[str] = frozenset({"imap", "smtp"})
SECURITIES: frozenset[str] = frozenset({"tls", "starttls", "none"})

EMAILADDRESS = "%EMAILADDRESS%"
EMAILLOCALPART = "%EMAILLOCALPART%"
EMAILDOMAIN = "%EMAILDOMAIN%"
_PLACEHOLDER = re.compile(r"%EMAIL(?:ADDRESS|LOCALPART|DOMAIN)%")

MAX_RESPONSE_BYTES = 1024 * 1024
ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/"
USER_AGENT = "tricoma-mail-autodiscovery/1"


def N_(message: str) -> str:
    """Mark `message` for translation; it is translated where it is shown, not here."""
    return message


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class InvalidAddress(ValueError):
    """The text is not an e-mail address autodiscovery can work with."""


class AutoconfigError(ValueError):
    """An autoconfig file was refused: malformed, too large, or with a DOCTYPE or entities."""


class UnsafeUrl(ValueError):
    """A URL (or a redirect target) that `urllib_http_get` will not fetch."""


class ResponseTooLarge(ValueError):
    """An HTTP response body larger than the allowed maximum."""


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


@dataclass(frozen=True)
class EmailAddress:
    """A checked e-mail address; `domain` is lower case ASCII (IDNA-encoded)."""

    local: str
    domain: str

    @property
    def address(self) -> str:
        """The address as ``local@domain``."""
        return f"{self.local}@{self.domain}"


@dataclass(frozen=True)
class ServerGuess:
    """One server to use, with the login name as a template (``%EMAILADDRESS%`` and friends)."""

    protocol: ServerProtocol
    host: str
    port: int
    security: Security
    username_template: str = EMAILADDRESS

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}")
        if self.security not in SECURITIES:
            raise ValueError(f"unknown security {self.security!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"invalid port {self.port!r}")
        if not is_hostname(self.host):
            raise ValueError(f"invalid host name {self.host!r}")

    def username(self, email: str) -> str:
        """The login name for `email`, with the template's placeholders filled in."""
        return fill_placeholders(self.username_template, parse_address(email))


@dataclass(frozen=True)
class Discovery:
    """What autodiscovery found for an address, and where it came from."""

    imap: ServerGuess | None
    smtp: ServerGuess | None
    source: Source
    provider_name: str | None = None
    notes: tuple[str, ...] = ()
    provider_files_sent_mail: bool = False
    oauth: str | None = None  # "microsoft" or "google": the provider wants OAuth2 sign-in


class Resolver(Protocol):
    """DNS look-ups autodiscovery needs. Return an empty list (or raise `LookupError` or
    `OSError`) when a name has no such records."""

    def srv(self, name: str) -> Sequence[tuple[int, int, int, str]]:
        """SRV records of `name` as ``(priority, weight, port, target)``."""

    def mx(self, domain: str) -> Sequence[tuple[int, str]]:
        """MX records of `domain` as ``(preference, host)``."""


# --------------------------------------------------------------------------------------------
# Addresses and host names
# --------------------------------------------------------------------------------------------


def parse_address(email: str) -> EmailAddress:
    """Check `email` and split it; raise `InvalidAddress` saying what is wrong."""
    if not isinstance(email, str):
        raise TypeError("the e-mail address must be a string")
    if any(char.isspace() or not char.isprintable() for char in email):
        raise InvalidAddress("an e-mail address must not contain spaces, line breaks or control characters")
    if email.count("@") != 1:
        raise InvalidAddress(f"{email!r} is not an e-mail address: it needs exactly one '@'")
    local, domain = email.split("@")
    _check_local_part(local)
    return EmailAddress(local=local, domain=_normalize_domain(domain))


def _check_local_part(local: str) -> None:
    if not local:
        raise InvalidAddress("the part before the '@' is empty")
    if len(local) > 64:
        raise InvalidAddress("the part before the '@' is longer than 64 characters")
    if not all(_LOCAL_ATOM.fullmatch(atom) for atom in local.split(".")):
        raise InvalidAddress(
            f"{local!r} is not a valid part before the '@' (letters, digits and .!#$%&'*+/=?^_`{{|}}~- "
            "only; no leading, trailing or double dots)"
        )


def _normalize_domain(domain: str) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise InvalidAddress(f"{domain!r} is not a valid domain") from error
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        raise InvalidAddress(f"{domain!r} is not a valid domain: it needs at least one dot")
    if not is_hostname(ascii_domain):
        raise InvalidAddress(
            f"{domain!r} is not a valid domain (labels of letters, digits and inner hyphens, "
            "separated by single dots)"
        )
    if labels[-1].isdigit():
        raise InvalidAddress(f"{domain!r} is not a domain name")
    return ascii_domain


def is_hostname(host: str) -> bool:
    """Whether `host` is a syntactically valid DNS host name (no trailing dot)."""
    return (
        isinstance(host, str)
        and 0 < len(host) <= 253
        and all(_HOST_LABEL.fullmatch(label) for label in host.split("."))
    )


def fill_placeholders(template: str, address: EmailAddress) -> str:
    """Replace ``%EMAILADDRESS%``, ``%EMAILLOCALPART%`` and ``%EMAILDOMAIN%`` in one pass, so text
    from the address is never substituted again."""
    values = {EMAILADDRESS: address.address, EMAILLOCALPART: address.local, EMAILDOMAIN: address.domain}
    return _PLACEHOLDER.sub(lambda match: values[match.group(0)], template)


def registered_domain(host: str) -> str:
    """The domain a host belongs to (``mx1.mail.example.co.uk`` → ``example.co.uk``).

    A small stand-in for the Public Suffix List, good enough to find an autoconfig file."""
    labels = host.lower().rstrip(".").split(".")
    size = 3 if ".".join(labels[-2:]) in _TWO_LEVEL_SUFFIXES else 2
    return ".".join(labels[-size:])


_TWO_LEVEL_SUFFIXES = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "co.at", "or.at", "com.au", "net.au", "org.au",
    "co.nz", "co.jp", "ne.jp", "com.br", "com.tr", "co.za", "com.cn", "com.mx", "com.pl", "co.in",
})


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


def _preset(
    name: str,
    imap: tuple[str, int, Security],
    smtp: tuple[str, int, Security],
    *,
    notes: tuple[str, ...] = (),
    files_sent_mail: bool = False,
    oauth: str | None = None,
) -> Discovery:
    return Discovery(
        imap=ServerGuess("imap", *imap),
        smtp=ServerGuess("smtp", *smtp),
        source="preset",
        provider_name=name,
        notes=notes,
        provider_files_sent_mail=files_sent_mail,
        oauth=oauth,
    )


GMAIL = _preset(
    "Gmail",
    ("imap.gmail.com", 993, "tls"),
    ("smtp.gmail.com", 465, "tls"),
    notes=(N_("Gmail: sign in with OAuth2 or use an app password; the normal Google password is refused."),),
    files_sent_mail=True,
    oauth="google",
)
YAHOO = _preset(
    "Yahoo Mail",
    ("imap.mail.yahoo.com", 993, "tls"),
    ("smtp.mail.yahoo.com", 465, "tls"),
    notes=(N_("Yahoo: create an app password in the Yahoo account security settings and use it here."),),
)
WEB_DE = _preset(
    "WEB.DE",
    ("imap.web.de", 993, "tls"),
    ("smtp.web.de", 587, "starttls"),
    notes=(N_("WEB.DE: switch on POP3/IMAP access in the WEB.DE mail settings first."),),
)
GMX = _preset(
    "GMX",
    ("imap.gmx.net", 993, "tls"),
    ("mail.gmx.net", 587, "starttls"),
    notes=(N_("GMX: switch on POP3/IMAP access in the GMX mail settings first."),),
)
T_ONLINE = _preset(
    "Telekom (T-Online)",
    ("secureimap.t-online.de", 993, "tls"),
    ("securesmtp.t-online.de", 465, "tls"),
    notes=(N_("T-Online: use the separate e-mail password from the Telekom customer centre, not the login password."),),
)
IONOS = _preset(
    "IONOS",
    ("imap.ionos.de", 993, "tls"),
    ("smtp.ionos.de", 465, "tls"),
)
OUTLOOK_COM = _preset(
    "Outlook.com",
    ("outlook.office365.com", 993, "tls"),
    ("smtp-mail.outlook.com", 587, "starttls"),
    notes=(N_("Outlook.com: Microsoft no longer accepts passwords for IMAP and SMTP; sign in with OAuth2."),),
    files_sent_mail=True,
    oauth="microsoft",
)
EXCHANGE_ONLINE = _preset(
    "Exchange Online (Microsoft 365)",
    ("outlook.office365.com", 993, "tls"),
    ("smtp.office365.com", 587, "starttls"),
    notes=(
        N_("Exchange Online: IMAP needs OAuth2; basic authentication was switched off in 2022."),
        N_("Exchange Online: basic SMTP AUTH is going away (off by default for existing tenants from the "
           "end of 2026); use OAuth2."),
    ),
    files_sent_mail=True,
    oauth="microsoft",
)

#: Every built-in provider by a stable id, e.g. for a "choose your provider" list.
PROVIDERS: Mapping[str, Discovery] = MappingProxyType({
    "gmail": GMAIL,
    "yahoo": YAHOO,
    "web.de": WEB_DE,
    "gmx": GMX,
    "t-online": T_ONLINE,
    "ionos": IONOS,
    "outlook.com": OUTLOOK_COM,
    "exchange-online": EXCHANGE_ONLINE,
})

_PRESET_DOMAINS: tuple[tuple[Discovery, tuple[str, ...]], ...] = (
    (GMAIL, ("gmail.com", "googlemail.com")),
    (YAHOO, ("yahoo.com", "yahoo.de", "ymail.com", "rocketmail.com")),
    (WEB_DE, ("web.de",)),
    (GMX, ("gmx.de", "gmx.net", "gmx.at", "gmx.ch")),
    (T_ONLINE, ("t-online.de", "magenta.de")),
    (IONOS, ("1und1.de", "ionos.de", "online.de")),
    (OUTLOOK_COM, ("outlook.com", "outlook.de", "hotmail.com", "hotmail.de", "live.com", "live.de", "msn.com")),
)

#: The built-in table: mail domain -> preset.
PRESETS: Mapping[str, Discovery] = MappingProxyType(
    {domain: preset for preset, domains in _PRESET_DOMAINS for domain in domains}
)

#: Presets for every subdomain of a domain (the tenant domains of Microsoft 365).
PRESET_SUFFIXES: Mapping[str, Discovery] = MappingProxyType({"onmicrosoft.com": EXCHANGE_ONLINE})

#: MX host domains of known providers; custom domains hosted there use the provider's preset.
MX_PRESETS: Mapping[str, Discovery] = MappingProxyType({
    "google.com": GMAIL,
    "googlemail.com": GMAIL,
    "outlook.com": EXCHANGE_ONLINE,  # *.mail.protection.outlook.com
    "web.de": WEB_DE,
    "gmx.net": GMX,
    "gmx.de": GMX,
    "ionos.de": IONOS,
    "kundenserver.de": IONOS,
    "1und1.de": IONOS,
    "t-online.de": T_ONLINE,
    "yahoodns.net": YAHOO,
})

# Later entries win, so a custom domain on outlook.office365.com counts as Exchange Online.
_PRESETS_BY_IMAP_HOST: Mapping[str, Discovery] = MappingProxyType(
    {preset.imap.host: preset for preset in PROVIDERS.values() if preset.imap is not None}
)


def _in_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def preset_for_domain(domain: str) -> Discovery | None:
    """The built-in preset for a mail domain, if there is one."""
    domain = domain.lower()
    if domain in PRESETS:
        return PRESETS[domain]
    return next((preset for suffix, preset in PRESET_SUFFIXES.items() if _in_domain(domain, suffix)), None)


def preset_for_mx_host(host: str) -> Discovery | None:
    """The preset of the provider that runs the MX host `host`, if it is a known one."""
    host = host.lower().rstrip(".")
    return next((preset for suffix, preset in MX_PRESETS.items() if _in_domain(host, suffix)), None)


def with_known_provider(found: Discovery) -> Discovery:
    """Add a known provider's name, notes and sent-mail behaviour when the IMAP host is theirs."""
    preset = _PRESETS_BY_IMAP_HOST.get(found.imap.host) if found.imap else None
    if preset is None:
        return found
    return dataclasses.replace(
        found,
        provider_name=found.provider_name or preset.provider_name,
        notes=found.notes + tuple(note for note in preset.notes if note not in found.notes),
        provider_files_sent_mail=preset.provider_files_sent_mail,
        oauth=preset.oauth,
    )


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------


def discover(
    email: str,
    resolver: Resolver | None = None,
    http_get: HttpGet | None = None,
    timeout: float = 5.0,
    *,
    allow_guess: bool = True,
) -> Discovery | None:
    """Find the IMAP and SMTP servers for `email`.

    Returns the first answer of: presets, autoconfig, DNS SRV, MX, guess. Returns ``None`` only
    when nothing was found and `allow_guess` is false. Without a `resolver` (and without dnspython)
    the DNS steps are skipped. Raises `InvalidAddress` (a `ValueError`) for a bad address.
    """
    address = parse_address(email)
    preset = preset_for_domain(address.domain)
    if preset is not None:
        return preset
    if resolver is None:
        resolver = default_resolver(timeout)
    if http_get is None:
        http_get = urllib_http_get
    found = (
        from_autoconfig(address, http_get, timeout)
        or (from_srv(address, resolver) if resolver is not None else None)
        or (from_mx(address, resolver, http_get, timeout) if resolver is not None else None)
    )
    if found is not None:
        return found
    return guess_servers(address) if allow_guess else None


def guess_servers(address: EmailAddress) -> Discovery:
    """The last resort: ``imap.<domain>:993`` (TLS) and ``smtp.<domain>:587`` (STARTTLS)."""
    return Discovery(
        imap=ServerGuess("imap", f"imap.{address.domain}", 993, "tls"),
        smtp=ServerGuess("smtp", f"smtp.{address.domain}", 587, "starttls"),
        source="guess",
        notes=(N_("These servers are only guessed from the domain; please check them."),),
    )


# --------------------------------------------------------------------------------------------
# Mozilla autoconfig
# --------------------------------------------------------------------------------------------


def autoconfig_urls(address: EmailAddress, domain: str | None = None) -> tuple[str, ...]:
    """Where to look for an autoconfig file of `domain` (default: the address's domain)."""
    domain = domain or address.domain
    query = urllib.parse.urlencode({"emailaddress": address.address})
    return (
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?{query}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
        f"{ISPDB_URL}{domain}",
    )


def from_autoconfig(
    address: EmailAddress,
    http_get: HttpGet,
    timeout: float,
    domain: str | None = None,
    source: Source = "autoconfig",
) -> Discovery | None:
    """The first autoconfig file for `domain` that names an IMAP server, as a `Discovery`."""
    for url in autoconfig_urls(address, domain):
        body = _fetch(http_get, url, timeout)
        if body is None:
            continue
        try:
            found = parse_autoconfig(body, address.address, source=source)
        except AutoconfigError as error:
            log.info("autoconfig file %s refused: %s", url, error)
            continue
        if found is not None:
            return with_known_provider(found)
    return None


def _fetch(http_get: HttpGet, url: str, timeout: float) -> bytes | None:
    try:
        status, body = http_get(url, timeout)
    except (OSError, ValueError) as error:
        log.info("autoconfig fetch %s failed: %s", url, error)
        return None
    return body if status == 200 and body else None


def parse_autoconfig(data: bytes, email: str, *, source: Source = "autoconfig") -> Discovery | None:
    """Read a Mozilla ``clientConfig`` file for `email`.

    Returns ``None`` when the file names no IMAP server. Raises `AutoconfigError` for a file over
    `MAX_RESPONSE_BYTES`, malformed XML, any DOCTYPE or entity declaration, or another root element.
    """
    if len(data) > MAX_RESPONSE_BYTES:
        raise AutoconfigError(f"larger than {MAX_RESPONSE_BYTES} bytes")
    root = parse_xml_strictly(data)
    if root.tag != "clientConfig":
        raise AutoconfigError(f"root element is <{root.tag}>, not <clientConfig>")
    provider = root.find("emailProvider")
    if provider is None:
        return None
    address = parse_address(email)
    imap = _pick_server(_servers(provider, "incomingServer", "imap", address))
    if imap is None:
        return None
    smtp = _pick_server(_servers(provider, "outgoingServer", "smtp", address))
    name = (provider.findtext("displayName") or "").strip()[:200] or None
    notes = (N_("The server offers no encryption."),) if imap.security == "none" else ()
    return Discovery(imap=imap, smtp=smtp, source=source, provider_name=name, notes=notes)


def parse_xml_strictly(data: bytes) -> ElementTree.Element:
    """Parse XML, refusing any DOCTYPE, entity declaration or external entity (no expansion bombs,
    no file or network access)."""
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a DOCTYPE")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("an unparsed entity")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise AutoconfigError(f"malformed XML: {error}") from error
    return builder.close()


def _refuse(what: str) -> Callable[..., None]:
    def refuse(*_args: object) -> None:
        raise AutoconfigError(f"contains {what}")

    return refuse


_SOCKET_TYPES: Mapping[str, Security] = MappingProxyType({"ssl": "tls", "starttls": "starttls", "plain": "none"})


def _servers(
    provider: ElementTree.Element, element: str, server_type: ServerProtocol, address: EmailAddress
) -> Iterable[ServerGuess]:
    for server in provider.findall(element):
        if server.get("type") != server_type:
            continue
        try:
            yield _server_from_xml(server, server_type, address)
        except ValueError as error:
            log.info("autoconfig %s entry skipped: %s", server_type, error)


def _server_from_xml(server: ElementTree.Element, protocol: ServerProtocol, address: EmailAddress) -> ServerGuess:
    socket_type = (server.findtext("socketType") or "").strip().lower()
    if socket_type not in _SOCKET_TYPES:
        raise ValueError(f"unknown socketType {socket_type!r}")
    port_text = (server.findtext("port") or "").strip()
    if not port_text.isdigit():
        raise ValueError(f"invalid port {port_text!r}")
    return ServerGuess(
        protocol=protocol,
        host=fill_placeholders((server.findtext("hostname") or "").strip(), address).lower(),
        port=int(port_text),
        security=_SOCKET_TYPES[socket_type],
        username_template=(server.findtext("username") or "").strip() or EMAILADDRESS,
    )


def _pick_server(servers: Iterable[ServerGuess]) -> ServerGuess | None:
    """The provider's first encrypted server; an unencrypted one only if there is nothing else."""
    candidates = list(servers)
    encrypted = [server for server in candidates if server.security != "none"]
    return (encrypted or candidates or [None])[0]


# --------------------------------------------------------------------------------------------
# DNS SRV (RFC 6186, RFC 8314)
# --------------------------------------------------------------------------------------------

_IMAP_SERVICES: tuple[tuple[str, Security], ...] = (("_imaps._tcp", "tls"), ("_imap._tcp", "starttls"))
_SMTP_SERVICES: tuple[tuple[str, Security], ...] = (("_submissions._tcp", "tls"), ("_submission._tcp", "starttls"))


@dataclass(frozen=True)
class SrvOffer:
    """One SRV record of a mail service; `target` is ``""`` where the record says "not offered"."""

    priority: int
    weight: int
    port: int
    target: str
    security: Security


def from_srv(address: EmailAddress, resolver: Resolver) -> Discovery | None:
    """Servers from SRV records, or ``None`` when the domain publishes no IMAP SRV records.

    A domain whose IMAP records all have the target ``.`` offers no IMAP; the answer then has no
    IMAP server and says so in its notes."""
    imap_offers = srv_offers(resolver, address.domain, _IMAP_SERVICES)
    if not imap_offers:
        return None
    smtp_offers = srv_offers(resolver, address.domain, _SMTP_SERVICES)
    imap = _server_from_offers("imap", imap_offers)
    smtp = _server_from_offers("smtp", smtp_offers)
    notes: list[str] = []
    if imap is None:
        notes.append(N_("The domain says in DNS that it offers no IMAP service."))
    if smtp is None:
        notes.append(N_("No SMTP server for sending was found; please enter it."))
    return with_known_provider(Discovery(imap=imap, smtp=smtp, source="srv", notes=tuple(notes)))


def srv_offers(resolver: Resolver, domain: str, services: Iterable[tuple[str, Security]]) -> list[SrvOffer]:
    """All SRV records of `services` in the order to try them: priority, implicit TLS first on a
    tie, then the heavier weight."""
    offers = [
        SrvOffer(priority, weight, port, _srv_target(target), security)
        for service, security in services
        for priority, weight, port, target in _lookup(resolver.srv, f"{service}.{domain}")
    ]
    return sorted(offers, key=lambda offer: (offer.priority, offer.security != "tls", -offer.weight))


def _srv_target(target: str) -> str:
    return target.strip().rstrip(".").lower()


def _server_from_offers(protocol: ServerProtocol, offers: Iterable[SrvOffer]) -> ServerGuess | None:
    for offer in offers:
        if not offer.target:
            continue  # "." = not offered under this service name
        try:
            return ServerGuess(protocol, offer.target, offer.port, offer.security)
        except ValueError as error:
            log.info("SRV %s record skipped: %s", protocol, error)
    return None


def _lookup(query: Callable[[str], Sequence[tuple]], name: str) -> Sequence[tuple]:
    try:
        return query(name) or ()
    except (LookupError, OSError) as error:
        log.info("DNS look-up of %s failed: %s", name, error)
        return ()


# --------------------------------------------------------------------------------------------
# MX
# --------------------------------------------------------------------------------------------

_MX_DOMAINS_TO_TRY = 3


def from_mx(address: EmailAddress, resolver: Resolver, http_get: HttpGet, timeout: float) -> Discovery | None:
    """A known provider's preset when it runs the domain's MX, else autoconfig for the MX hosts'
    registered domains (the user's own domain was tried already)."""
    hosts = mx_hosts(resolver, address.domain)
    for host in hosts:
        preset = preset_for_mx_host(host)
        if preset is not None:
            return dataclasses.replace(preset, source="mx")
    domains = list(dict.fromkeys(registered_domain(host) for host in hosts))
    for domain in domains[:_MX_DOMAINS_TO_TRY]:
        if domain == address.domain:
            continue
        found = from_autoconfig(address, http_get, timeout, domain=domain, source="mx")
        if found is not None:
            return found
    return None


def mx_hosts(resolver: Resolver, domain: str) -> list[str]:
    """The domain's MX hosts, most preferred first; a null MX (``.``) and bad names left out."""
    records = sorted(_lookup(resolver.mx, domain), key=lambda record: record[0])
    hosts = (host.strip().rstrip(".").lower() for _preference, host in records)
    return list(dict.fromkeys(host for host in hosts if is_hostname(host)))


# --------------------------------------------------------------------------------------------
# Default network access
# --------------------------------------------------------------------------------------------


class DnsResolver:
    """`Resolver` on dnspython; every DNS failure (NXDOMAIN, no answer, timeout) gives ``[]``."""

    def __init__(self, timeout: float = 5.0, resolver: object | None = None) -> None:
        import dns.resolver  # optional dependency: only needed for the default resolver

        self._resolver = resolver if resolver is not None else dns.resolver.Resolver()
        self._resolver.lifetime = timeout

    def srv(self, name: str) -> list[tuple[int, int, int, str]]:
        """SRV records of `name`."""
        return [(r.priority, r.weight, r.port, r.target.to_text()) for r in self._resolve(name, "SRV")]

    def mx(self, domain: str) -> list[tuple[int, str]]:
        """MX records of `domain`."""
        return [(r.preference, r.exchange.to_text()) for r in self._resolve(domain, "MX")]

    def _resolve(self, name: str, rdtype: str) -> list:
        import dns.exception

        try:
            return list(self._resolver.resolve(name, rdtype, search=False))
        except dns.exception.DNSException as error:
            log.info("DNS %s look-up of %s: %s", rdtype, name, error)
            return []


def default_resolver(timeout: float = 5.0) -> DnsResolver | None:
    """A `DnsResolver`, or ``None`` when dnspython is missing or finds no DNS configuration."""
    try:
        import dns.exception
    except ImportError:
        log.info("dnspython is not installed: DNS autodiscovery is skipped")
        return None
    try:
        return DnsResolver(timeout)
    except dns.exception.DNSException as error:
        log.info("no DNS resolver: %s; DNS autodiscovery is skipped", error)
        return None


def urllib_http_get(
    url: str,
    timeout: float,
    *,
    max_bytes: int = MAX_RESPONSE_BYTES,
    allow_loopback_http: bool = False,
    open_socket: OpenSocket | None = None,
) -> tuple[int, bytes]:
    """GET `url` over https and return ``(status, body)``; an HTTP error status has an empty body.

    Redirects are followed only to https (at most three). Raises `UnsafeUrl` for any other URL,
    `ResponseTooLarge` for a body over `max_bytes`, `OSError` when the server cannot be reached.
    `allow_loopback_http` also admits plain http to 127.0.0.1, ::1 and localhost (for tests).
    `open_socket` opens every connection, redirects' too (the app's address policy, so a domain
    cannot send the server to its own network); no proxy is used then, since the policy could
    not see where a proxy connects.
    """
    check_url(url, allow_loopback_http=allow_loopback_http)
    handlers: list[urllib.request.BaseHandler] = [_HttpsOnlyRedirects(allow_loopback_http)]
    if open_socket is not None:
        handlers += [urllib.request.ProxyHandler({}), _CheckedHttpsHandler(open_socket),
                     _CheckedHttpHandler(open_socket)]
    elif _is_loopback(urllib.parse.urlsplit(url).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))  # a proxy cannot reach our loopback
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/xml, text/xml"})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, _read_capped(response, max_bytes)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, b""
    except http.client.HTTPException as error:
        raise ConnectionError(f"bad HTTP answer from {url}: {error!r}") from error


def check_url(url: str, *, allow_loopback_http: bool = False) -> None:
    """Raise `UnsafeUrl` unless `url` is https (or loopback http when allowed)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise UnsafeUrl(f"no host in {url!r}")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and allow_loopback_http and _is_loopback(parts.hostname):
        return
    raise UnsafeUrl(f"refusing to fetch {url!r}: only https is allowed")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _CheckedHttpsConnection(http.client.HTTPSConnection):
    def __init__(self, *args, open_socket: OpenSocket, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open_socket = open_socket

    def connect(self) -> None:
        sock = self._open_socket(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _CheckedHttpConnection(http.client.HTTPConnection):
    def __init__(self, *args, open_socket: OpenSocket, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open_socket = open_socket

    def connect(self) -> None:
        self.sock = self._open_socket(self.host, self.port, self.timeout)


class _CheckedHttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, open_socket: OpenSocket) -> None:
        super().__init__()
        self._open_socket = open_socket

    def https_open(self, req):  # noqa: ANN001 - urllib's signature
        return self.do_open(functools.partial(_CheckedHttpsConnection, open_socket=self._open_socket), req,
                            context=self._context)


class _CheckedHttpHandler(urllib.request.HTTPHandler):
    def __init__(self, open_socket: OpenSocket) -> None:
        super().__init__()
        self._open_socket = open_socket

    def http_open(self, req):  # noqa: ANN001 - urllib's signature
        return self.do_open(functools.partial(_CheckedHttpConnection, open_socket=self._open_socket), req)


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 3
    max_repeats = 3

    def __init__(self, allow_loopback_http: bool) -> None:
        self._allow_loopback_http = allow_loopback_http

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        try:
            check_url(newurl, allow_loopback_http=self._allow_loopback_http)
        except UnsafeUrl:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _read_capped(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"the server announces {declared} bytes, more than {max_bytes}")
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ResponseTooLarge(f"the answer is larger than {max_bytes} bytes")
    return body
