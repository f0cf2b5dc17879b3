"""ManageSieve (RFC 5804) for a mailbox's filters and vacation, through sievelib.

The server is the mailbox's IMAP host, reached through the address policy like every mail
server connection, with the IMAP settings' login and encryption ("tls" and "starttls" both use
STARTTLS, the only TLS ManageSieve defines; "none" is allowed only to this machine). Library
errors are translated here into core's exceptions.
"""
from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sievelib.managesieve import Client, Error

from .._i18n import _l
from ..errors import MailboxAuthError, MailboxConnectionError, SieveScriptRejected
from .backend import ServerSettings
from .sasl import token_login, uses_token
from .tls import tls_context

DEFAULT_PORT = 4190
_LINE = re.compile(r"\bline (\d+)\b")


class _RefusedToken(Exception):
    """The server turned an OAuth2 token down (asks :func:`token_login` for a fresh one)."""


class _PolicyClient(Client):
    """sievelib's client on a socket the address policy opened, with core's TLS context."""

    def __init__(self, server: ServerSettings, port: int) -> None:
        super().__init__(server.host, port)
        self._server = server

    # sievelib wraps the socket with a default context; ours also trusts the configured CA file.
    def _Client__enable_ssl(self, keyfile: str | None = None, certfile: str | None = None) -> None:
        try:
            self.sock = tls_context(self._server.ca_file).wrap_socket(self.sock, server_hostname=self._server.host)
        except ssl.SSLError as error:
            raise Error(f"SSL error: {error}") from error

    def open(self) -> None:
        """Connect, read the capabilities and switch to TLS unless the mailbox says "none"."""
        self.sock = self._server.policy.connect(self._server.host, self.srvport, self._server.timeout)
        self.sock.settimeout(self._server.timeout)
        if not self._Client__get_capabilities():
            raise Error("no capabilities from the server: not a ManageSieve server?")
        if self._server.security != "none" and not self._Client__starttls():
            raise Error("STARTTLS refused")

    def log_in(self) -> None:
        server = self._server
        if uses_token(server):
            def login(mechanism: str, token: str) -> None:
                if not self._Client__authenticate(server.username, token, authmech=mechanism):
                    raise _RefusedToken()
            try:
                token_login(server, self.get_sasl_mechanisms(), login, (_RefusedToken,))
            except _RefusedToken:
                raise MailboxAuthError(detail=self._error_text()) from None
        elif not self._Client__authenticate(server.username, server.password):
            raise MailboxAuthError(detail=self._error_text())

    def _error_text(self) -> str:
        message = self.errmsg
        return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message or "")


@dataclass(frozen=True)
class ActiveScript:
    """The script the server runs on delivery: its name and text (None, "": no active script)."""

    name: str | None
    text: str


class SieveSession:
    """A logged-in ManageSieve connection (use :func:`sieve_session`)."""

    def __init__(self, client: _PolicyClient) -> None:
        self._client = client

    def active_script(self) -> ActiveScript:
        listing = self._client.listscripts()
        if listing is None:
            raise MailboxConnectionError(detail="LISTSCRIPTS: " + self._client._error_text())
        active, _others = listing
        if active is None:
            return ActiveScript(None, "")
        return ActiveScript(active, self._client.getscript(active) or "")

    def check(self, text: str) -> None:
        """Raise :class:`SieveScriptRejected` with the server's words when it refuses ``text``."""
        if not self._client.checkscript(text):
            raise _rejected(self._client._error_text())

    def put_and_activate(self, name: str, text: str) -> None:
        """Store the script (checked by the server first) and make it the active one."""
        self.check(text)
        if not self._client.putscript(name, text):
            raise _rejected(self._client._error_text())
        if not self._client.setactive(name):
            raise MailboxConnectionError(detail="SETACTIVE: " + self._client._error_text())


def _rejected(server_message: str) -> SieveScriptRejected:
    found = _LINE.search(server_message)
    return SieveScriptRejected(server_message.strip(), int(found.group(1)) if found else None)


NOT_MANAGESIEVE = _l("The server does not answer ManageSieve (filters) on this port.")


@contextmanager
def sieve_session(server: ServerSettings, port: int | None) -> Iterator[SieveSession]:
    """A logged-in session with the ManageSieve server of ``server`` (the mailbox's IMAP
    settings) on ``port`` (None: 4190), logged out afterwards.

    Raises :class:`MailboxConnectionError` (unreachable, no ManageSieve, TLS failed),
    :class:`MailboxAuthError` (login refused) or :class:`ServerNotAllowed`.
    """
    client = _PolicyClient(server, port or DEFAULT_PORT)
    try:
        client.open()
        client.log_in()
    except (TimeoutError, Error, OSError) as error:
        _close(client)
        raise MailboxConnectionError(str(NOT_MANAGESIEVE) if isinstance(error, Error) else None,
                                     detail=f"{server.host}:{client.srvport}: {error}") from error
    except BaseException:
        _close(client)
        raise
    try:
        yield SieveSession(client)
    except (Error, OSError) as error:
        raise MailboxConnectionError(detail=f"{server.host}:{client.srvport}: {error}") from error
    finally:
        try:
            client.logout()
        except (Error, OSError):
            pass
        _close(client)


def _close(client: _PolicyClient) -> None:
    if client.sock is not None:
        client.sock.close()
        client.sock = None
