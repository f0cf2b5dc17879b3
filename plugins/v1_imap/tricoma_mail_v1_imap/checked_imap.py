"""An IMAPClient whose socket goes to an address core's policy checked: the host name is resolved
once, its addresses checked, and the connection made to a checked one (no second look-up that DNS
rebinding could answer differently). TLS still verifies the certificate against the host name."""
from __future__ import annotations

import socket
import ssl
from typing import Callable

from imapclient import IMAPClient, exceptions, imap4, tls

from tricoma_mail_plugin import ServerSettings, initial_response

OpenSocket = Callable[[float | None], socket.socket]


class CheckedIMAPClient(IMAPClient):
    """``IMAPClient(server.host, server.port, …)`` that connects through ``server.policy``."""

    def __init__(self, server: ServerSettings, ssl_context: ssl.SSLContext) -> None:
        self._server = server
        super().__init__(server.host, server.port, ssl=server.security == "tls",
                         ssl_context=ssl_context, timeout=server.timeout)

    def _create_IMAP4(self):  # noqa: N802 - imapclient's name
        server = self._server

        def open_socket(timeout):
            return server.policy.connect(server.host, server.port, timeout)

        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _CheckedIMAP4TLS(open_socket, self.host, self.port, self.ssl_context, connect_timeout)
        return _CheckedIMAP4(open_socket, self.host, self.port, connect_timeout)


class _CheckedIMAP4(imap4.IMAP4WithTimeout):
    def __init__(self, open_socket: OpenSocket, host: str, port: int, timeout: float | None) -> None:
        self._open_socket = open_socket
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout=None):
        return self._open_socket(timeout if timeout is not None else self._timeout)


class _CheckedIMAP4TLS(tls.IMAP4_TLS):
    def __init__(self, open_socket: OpenSocket, host: str, port: int, ssl_context, timeout: float | None) -> None:
        self._open_socket = open_socket
        super().__init__(host, port, ssl_context, timeout)

    def _create_socket(self, timeout):
        # imapclient passes no timeout here; the connect timeout applies to the TLS port too.
        sock = self._open_socket(timeout if timeout is not None else self._timeout)
        return tls.wrap_socket(sock, self.ssl_context, self.host)


def oauth_login(client: IMAPClient, mechanism: str, user: str, token: str) -> None:
    """AUTHENTICATE with an OAuth2 token (``XOAUTH2`` or ``OAUTHBEARER``). A refusal comes as an
    error challenge first; it is answered with an empty line, so the server sends its NO (a
    client that sends the token again gets a NO all the same, but a server may count it twice)."""
    first = initial_response(mechanism, user, token).encode()
    answers = iter((first,))

    def respond(_challenge: bytes) -> bytes:
        return next(answers, b"")

    try:
        client._command_and_check("authenticate", mechanism, respond)
    except exceptions.IMAPClientError as error:
        raise exceptions.LoginError(str(error)) from error
