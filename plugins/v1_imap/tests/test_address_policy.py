"""The v1 backend connects only where core's address policy allows (issue 18, point 8): IMAP
through the checked client, with the certificate still checked against the configured name, and
autodiscovery's HTTPS fetches, whose host names come from the user's e-mail domain."""
from __future__ import annotations

import socket
import ssl
import threading
from contextlib import closing

import pytest

from app_fixtures import login
from tricoma_mail_plugin import AddressPolicy, MailboxSettings, ServerNotAllowed, ServerSettings, tls_context
from tricoma_mail_plugin.mailboxes.address_policy import parse_entry
from tricoma_mail_plugin.mailboxes.connection_steps import steps_for_non_admins
from tricoma_mail_v1_imap import connection_test
from tricoma_mail_v1_imap.autodiscovery import urllib_http_get
from tricoma_mail_v1_imap.checked_imap import CheckedIMAPClient

REAL_GETADDRINFO = socket.getaddrinfo


class Acceptor:
    """A port on 127.0.0.1 that counts the connections made to it and closes each at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _address = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def acceptor():
    listening = Acceptor()
    yield listening
    listening.close()


def fake_dns(monkeypatch, names: dict[str, tuple[str, int | None]]) -> None:
    """Resolve the given names to (address, port); a port of None keeps the asked one."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            address, fixed_port = names[host]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, fixed_port or int(port)))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class NoRecords:
    def srv(self, name):
        return []

    def mx(self, domain):
        return []


# -- autodiscovery ---------------------------------------------------------------------------


def test_a_fetch_to_a_refused_address_never_connects(acceptor):
    url = f"http://127.0.0.1:{acceptor.port}/mail/config-v1.1.xml"
    with pytest.raises(OSError):
        urllib_http_get(url, 2.0, allow_loopback_http=True,
                        open_socket=lambda host, port, timeout: _refusing(AddressPolicy(), host, port, timeout))
    assert acceptor.connections == 0


def _refusing(policy, host, port, timeout):
    try:
        return policy.connect(host, port, timeout)
    except ServerNotAllowed as error:
        raise PermissionError(error.detail) from error


@pytest.mark.parametrize("allowed, connections", [((), 0), (("127.0.0.1",), 1)])
def test_discovery_for_a_domain_that_points_into_the_network(make_app, make_user, acceptor, monkeypatch,
                                                             allowed, connections):
    """autoconfig.<domain> resolves to the server's own network: refused unless allowed."""
    app = make_app(TRICOMA_MAIL_ALLOWED_MAIL_SERVERS=allowed, TRICOMA_MAIL_DISCOVERY_RESOLVER=NoRecords())
    make_user("ulla")
    client = app.test_client()
    assert login(client, "ulla").status_code == 302
    fake_dns(monkeypatch, {"autoconfig.corp.example": ("127.0.0.1", acceptor.port),
                           "corp.example": ("10.1.1.1", None),
                           "autoconfig.thunderbird.net": ("10.1.1.2", None)})
    created = client.post("/mail/settings/mailboxes/", data={"title": "Probe"})
    response = client.post(created.location, data={"action": "discover", "email": "x@corp.example"})
    assert response.status_code == 200
    assert "imap.corp.example" in response.get_data(as_text=True)  # the guess: nothing was fetched
    assert acceptor.connections == connections


# -- IMAP ------------------------------------------------------------------------------------


def test_the_imap_client_refuses_a_private_address_before_connecting(acceptor):
    server = ServerSettings("127.0.0.1", acceptor.port, "starttls", "user", "pw", timeout=2.0)
    with pytest.raises(ServerNotAllowed):
        CheckedIMAPClient(server, tls_context(None))
    assert acceptor.connections == 0


def test_the_certificate_is_checked_against_the_configured_name(mailstack, monkeypatch):
    """The socket goes to the checked address, TLS still verifies the name the user entered
    (the stack's certificate names localhost and 127.0.0.1, not mail.corp.example)."""
    port = mailstack.profile(1).imaps_port
    fake_dns(monkeypatch, {"mail.corp.example": ("127.0.0.1", None), "localhost": ("127.0.0.1", None)})
    policy = AddressPolicy((parse_entry("127.0.0.1"),))
    context = tls_context(str(mailstack.cert))
    wrong_name = ServerSettings("mail.corp.example", port, "tls", "u", "p", timeout=5.0, policy=policy)
    with pytest.raises(ssl.SSLCertVerificationError):
        CheckedIMAPClient(wrong_name, context)
    right_name = ServerSettings("localhost", port, "tls", "u", "p", timeout=5.0, policy=policy)
    client = CheckedIMAPClient(right_name, context)
    with closing(client.socket()):
        assert client.socket().getpeername()[0] == "127.0.0.1"
        assert client.capabilities()


def test_a_name_that_rebinds_between_the_test_s_connections_is_refused(mailstack, monkeypatch):
    """The Test connects twice (the raw greeting, then the IMAP client): each connection checks
    its own single look-up, so a second answer pointing inside is refused, and a user who is not
    an admin sees only "could not connect"."""
    answers = iter(["127.0.0.1"])

    def rebinding(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "10.0.0.9"), int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    server = ServerSettings("rebind.example", mailstack.profile(1).imap_port, "starttls", "u", "p", timeout=5.0,
                            ca_file=str(mailstack.cert), policy=AddressPolicy((parse_entry("127.0.0.1"),)))
    steps = connection_test.run(MailboxSettings(imap=server, smtp=None))
    typed = [(step.step, step.code) for step in steps if step.protocol == "imap" and step.code != "skipped"]
    assert typed == [("resolve", "ok"), ("connect", "ok"), ("greeting", "ok"), ("starttls", "not_allowed")]
    shown = [(step.step, step.code) for step in steps_for_non_admins(steps) if step.protocol == "imap"]
    assert shown == [("connect", "could_not_connect"), ("login", "skipped"), ("capabilities", "skipped"),
                     ("folders", "skipped")]
