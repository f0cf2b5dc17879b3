"""An IMAPClient logged in to one mailbox's server, its socket opened through core's address
policy (the host resolved once and checked; TLS still verifies the host name)."""
from __future__ import annotations

from imapclient import IMAPClient, imap4, tls

from tricoma_mail_plugin import MailboxConnectionError, ServerSettings, tls_context


class _PolicyIMAPClient(IMAPClient):
    def __init__(self, server: ServerSettings) -> None:
        self._server = server
        super().__init__(server.host, server.port, ssl=server.security == "tls",
                         ssl_context=tls_context(server.ca_file), timeout=server.timeout)

    def _create_IMAP4(self):
        server = self._server

        def open_socket(timeout=None):
            return server.policy.connect(server.host, server.port, timeout or server.timeout)

        if self.ssl:
            connection = tls.IMAP4_TLS.__new__(tls.IMAP4_TLS)
            connection._create_socket = lambda timeout=None: tls.wrap_socket(open_socket(timeout), self.ssl_context, self.host)
            tls.IMAP4_TLS.__init__(connection, self.host, self.port, self.ssl_context, server.timeout)
            return connection
        connection = imap4.IMAP4WithTimeout.__new__(imap4.IMAP4WithTimeout)
        connection._create_socket = open_socket
        imap4.IMAP4WithTimeout.__init__(connection, self.host, self.port, server.timeout)
        return connection


def open_session(server: ServerSettings) -> IMAPClient:
    """Connected and logged in; password or XOAUTH2 (``auth == "xoauth2"``) logins."""
    if server.auth == "oauth2":
        raise MailboxConnectionError("moving a mailbox that signs in with OAuth2 is not supported")
    client = _PolicyIMAPClient(server)
    if server.security == "starttls":
        client.starttls(tls_context(server.ca_file))
    if server.auth == "xoauth2":
        client.oauth2_login(server.username, server.password)
    else:
        client.login(server.username, server.password)
    return client
