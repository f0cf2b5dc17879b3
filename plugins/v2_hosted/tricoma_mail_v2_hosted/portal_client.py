"""The hosting portal's API as the import sees it (docs/portal_api.md): one ``GET
/api/v1/mailboxes`` with the Bearer token, answered as :class:`PortalMailbox` values or one of
the typed errors below.

The connection goes through core's mail-server address policy (``docs/security.md``), like every
connection made for a mailbox: an admin cannot point the import at the server's own network
unless the allow list says so. Only https is spoken, and plain http to a loopback portal when
``TRICOMA_MAIL_V2_PORTAL_HTTP_LOOPBACK`` allows it (tests, the demo); redirects are not followed.
"""
from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from tricoma_mail_plugin import (
    AddressPolicy,
    MailError,
    ServerNotAllowed,
    is_loopback,
    tls_context,
)

from .i18n import lazy_gettext as _l

MAILBOXES_PATH = "/api/v1/mailboxes"
MAX_ANSWER_BYTES = 5 * 2**20
USER_AGENT = "tricoma-mail-v2-hosted"


class PortalError(MailError):
    """The import could not read the portal's mailboxes; ``user_message`` says what to do."""


class PortalAddressInvalid(PortalError):
    default_message = _l("Please enter the portal's address as https://… (for example "
                         "https://portal.example.com).")


class PortalNotAllowed(PortalError):
    default_message = _l("The portal's address is in a network that mail servers may not be reached in. "
                         "An administrator can allow it under Mail servers.")


class PortalWrongAddress(PortalError):
    default_message = _l("No tricoma portal answers at this address. Please check the portal's address.")


class PortalTokenRefused(PortalError):
    default_message = _l("The portal refused the API token: it was revoked or is wrong. Please create a "
                         "new token in the portal under API tokens and enter it here.")


class PortalUnreachable(PortalError):
    default_message = _l("The portal cannot be reached. Please try again later or check the portal's address.")


@dataclass(frozen=True)
class PortalServer:
    host: str
    port: int
    security: str  # "starttls" or "tls"


@dataclass(frozen=True)
class PortalMailbox:
    """One mailbox as the portal lists it; ``username``/``app_password`` are empty while the
    mailbox is not usable (provisioning, failed)."""

    id: int
    login: str
    display_name: str
    state: str
    addresses: tuple[str, ...]
    imap: PortalServer
    smtp: PortalServer
    username: str
    app_password: str
    #: the ManageSieve server (filters, vacation); None when the portal names none (an older
    #: portal, or one without a hosting stack behind it)
    sieve: PortalServer | None = None

    @property
    def usable(self) -> bool:
        return bool(self.app_password)


def normal_address(text: str, *, http_loopback: bool = False) -> str:
    """The portal's address without a trailing slash; raises :class:`PortalAddressInvalid` for
    anything but https (or http to a loopback host when ``http_loopback``), or with a query,
    fragment or user name in it."""
    value = (text or "").strip().rstrip("/")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise PortalAddressInvalid() from None
    if not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc or len(value) > 500:
        raise PortalAddressInvalid()
    if parts.scheme == "https" or (parts.scheme == "http" and http_loopback and is_loopback(parts.hostname)):
        return value
    raise PortalAddressInvalid()


def fetch_mailboxes(address: str, token: str, *, policy: AddressPolicy, timeout: float,
                    ca_file: str | None) -> list[PortalMailbox]:
    """The account's mailboxes, read with ``token`` from the portal at ``address`` (as
    :func:`normal_address` returns it)."""
    parts = urlsplit(address)
    secure = parts.scheme == "https"
    host, port = parts.hostname, parts.port or (443 if secure else 80)
    try:
        sock = policy.connect(host, port, timeout)
    except ServerNotAllowed as error:
        raise PortalNotAllowed(detail=error.detail) from None
    except OSError as error:
        raise PortalUnreachable(detail=f"{host}:{port}: {error}") from None
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.sock = tls_context(ca_file).wrap_socket(sock, server_hostname=host) if secure else sock
        connection.request("GET", parts.path + MAILBOXES_PATH, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": USER_AGENT})
        response = connection.getresponse()
        status, body = response.status, response.read(MAX_ANSWER_BYTES + 1)
    except ssl.SSLError as error:
        raise PortalUnreachable(detail=f"TLS: {error}") from None
    except (OSError, http.client.HTTPException) as error:
        raise PortalUnreachable(detail=f"{host}:{port}: {error!r}") from None
    finally:
        connection.close()
    if status == 401:
        raise PortalTokenRefused()
    if status != 200 or len(body) > MAX_ANSWER_BYTES:
        raise PortalWrongAddress(detail=f"HTTP {status}")
    return parse_mailboxes(body)


def parse_mailboxes(body: bytes) -> list[PortalMailbox]:
    """The answer's mailboxes; :class:`PortalWrongAddress` when it is not the portal's JSON."""
    try:
        return [_mailbox(entry) for entry in json.loads(body)["mailboxes"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise PortalWrongAddress(detail=f"not the portal's answer: {error!r}") from None


def _mailbox(entry: dict) -> PortalMailbox:
    credentials = entry.get("credentials") or {}
    addresses = tuple(str(address) for address in entry["addresses"])
    return PortalMailbox(
        id=int(entry["id"]), login=str(entry["login"]), display_name=str(entry.get("display_name") or ""),
        state=str(entry["state"]), addresses=addresses, imap=_server(entry["imap"]), smtp=_server(entry["smtp"]),
        username=str(credentials.get("username") or ""), app_password=str(credentials.get("app_password") or ""),
        sieve=_server(entry["sieve"]) if (entry.get("sieve") or {}).get("port") else None,
    )


def _server(value: dict) -> PortalServer:
    return PortalServer(str(value["host"]), int(value["port"]), str(value["security"]))

