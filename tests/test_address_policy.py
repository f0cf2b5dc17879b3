"""Server-side request forgery (issue 18, point 8): a mailbox cannot make the server connect to
its own network. Addresses are checked after resolving, before any connection (Test, sync,
send); users who are not admins learn no more than "could not connect"; the Test is limited per
user and hour; an admin's allow list lets the local mail stack through.

Every app here starts with an empty allow list (the suite's config allows 127.0.0.1), so
127.0.0.1 counts as the server's own network, as it does in production."""
from __future__ import annotations

import ipaddress
import re
import select
import socket
import ssl
from contextlib import closing
from dataclasses import replace

import pytest

from app_fixtures import login
from hostapp.extensions import db
from tricoma_mail_plugin import (
    AddressPolicy,
    MailboxConnectionError,
    ServerNotAllowed,
    ServerSettings,
    mail_server_policy,
    open_smtp,
    submit_smtp,
)
from tricoma_mail_plugin.errors import InvalidSettings
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.mailboxes.address_policy import is_public, parse_entry, save_entries
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.sending import system_settings

BASE = "/mail/settings/mailboxes"
ADMIN_PAGE = "/mail/admin/mail-servers/"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def app(make_app):
    return make_app(TRICOMA_MAIL_ALLOWED_MAIL_SERVERS=())


@pytest.fixture
def listener():
    """A listening socket on 127.0.0.1: the "open port" a scan would look for."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock


def connection_arrived(sock: socket.socket, wait: float = 0.3) -> bool:
    readable, _, _ = select.select([sock], [], [], wait)
    if readable:
        sock.accept()[0].close()
    return bool(readable)


def closed_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page(response) -> str:
    return response.get_data(as_text=True)


def test_result_section(html: str) -> str:
    match = re.search(r'<section class="test-result".*?</section>', html, re.S)
    assert match, html
    return match.group(0)


test_result_section.__test__ = False  # a helper, not a test


def new_mailbox(client, host: str, port: int, title: str = "Probe") -> int:
    response = client.post(f"{BASE}/", data={"title": title})
    assert response.status_code == 302
    mailbox_id = int(re.search(r"/(\d+)/$", response.location).group(1))
    response = client.post(f"{BASE}/{mailbox_id}/", data={
        "title": title, "email": "probe@example.com",
        "imap_host": host, "imap_port": str(port), "imap_security": "starttls", "imap_username": "probe",
        "imap_password": "secret",
        "smtp_host": host, "smtp_port": str(port), "smtp_security": "starttls", "smtp_username": "probe",
        "smtp_password": "secret",
    })
    assert response.status_code == 302, page(response)
    return mailbox_id


def stored_steps(app, mailbox_id: int) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(s["protocol"], s["step"], s["code"]) for s in db.session.get(Mailbox, mailbox_id).last_test_steps]


def fake_dns(monkeypatch, names: dict[str, str]) -> None:
    """Resolve the given names to the given addresses (any port), everything else as usual."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], int(port)))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# -- the Test as a port scanner ---------------------------------------------------------------


def test_open_and_closed_loopback_ports_look_the_same_and_nothing_connects(app, user_client, listener):
    open_port = listener.getsockname()[1]
    closed = new_mailbox(user_client, "127.0.0.1", closed_port(), "Closed")
    opened = new_mailbox(user_client, "127.0.0.1", open_port, "Open")
    sections = []
    for mailbox_id in (closed, opened):
        assert user_client.post(f"{BASE}/{mailbox_id}/test").status_code == 302
        sections.append(test_result_section(page(user_client.get(f"{BASE}/{mailbox_id}/"))))
    assert not connection_arrived(listener), "the Test connected to a loopback port"
    assert sections[0] == sections[1]
    assert "Could not connect to the server." in sections[0]
    for revealing in ("refused", "Refused", "timeout", "did not answer", "127.0.0.1", "not on the allow list"):
        assert revealing not in sections[0]
    # What is stored stays typed (for admins): refused by the policy before any connection.
    assert ("imap", "resolve", "not_allowed") in stored_steps(app, closed)
    assert ("smtp", "resolve", "not_allowed") in stored_steps(app, opened)


def test_a_host_name_that_resolves_to_a_private_address_is_refused(app, user_client, listener, monkeypatch):
    fake_dns(monkeypatch, {"mail.corp.example": "127.0.0.1", "intranet.corp.example": "10.20.30.40"})
    port = listener.getsockname()[1]
    for host in ("mail.corp.example", "intranet.corp.example"):
        mailbox_id = new_mailbox(user_client, host, port, host)
        user_client.post(f"{BASE}/{mailbox_id}/test")
        assert ("imap", "resolve", "not_allowed") in stored_steps(app, mailbox_id)
        assert "Could not connect to the server." in page(user_client.get(f"{BASE}/{mailbox_id}/"))
    assert not connection_arrived(listener)


def test_sync_and_send_are_refused_before_connecting(app, user_client, listener):
    mailbox_id = new_mailbox(user_client, "127.0.0.1", listener.getsockname()[1])
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with pytest.raises(ServerNotAllowed) as refused:
            with service.backend_for(mailbox):  # what sync, bodies and folder pages do
                pass
        assert refused.value.user_message == "Could not connect to the mail server."
        settings = service.settings_for(mailbox)
        with pytest.raises(ServerNotAllowed):
            submit_smtp(settings.smtp, "probe@example.com", ["x@example.com"], b"Subject: x\r\n\r\nx\r\n")
        with pytest.raises(ServerNotAllowed):
            service.backend_for(mailbox).submission().submit("probe@example.com", ["x@example.com"], b"x\r\n")
    assert not connection_arrived(listener)


def test_the_hourly_test_limit_counts_every_mailbox_of_the_user(app, user_client, make_user):
    app.config["TRICOMA_MAIL_TESTS_PER_HOUR"] = 2
    first = new_mailbox(user_client, "127.0.0.1", closed_port(), "One")
    second = new_mailbox(user_client, "127.0.0.1", closed_port(), "Two")
    user_client.post(f"{BASE}/{first}/test")
    user_client.post(f"{BASE}/{second}/test")
    with app.app_context():
        tested_at = db.session.get(Mailbox, first).last_test_at
    refused = user_client.post(f"{BASE}/{first}/test", follow_redirects=True)
    assert "connection tests in the last hour" in page(refused)
    with app.app_context():
        assert db.session.get(Mailbox, first).last_test_at == tested_at
    # Another user has an hour of their own.
    make_user("otto", language="en")
    other = app.test_client()
    assert login(other, "otto").status_code == 302
    own = new_mailbox(other, "127.0.0.1", closed_port(), "Otto's")
    assert "connection tests in the last hour" not in page(other.post(f"{BASE}/{own}/test", follow_redirects=True))


def test_the_limit_is_thirty_tests_an_hour_by_default(app):
    assert app.config["TRICOMA_MAIL_TESTS_PER_HOUR"] == 30


# -- admins ----------------------------------------------------------------------------------


def test_admins_see_the_typed_steps(app, user_client, make_user, listener):
    make_user("root", admin=True, language="en")
    admin = app.test_client()
    assert login(admin, "root").status_code == 302
    blocked = new_mailbox(user_client, "127.0.0.1", listener.getsockname()[1], "Blocked")
    user_client.post(f"{BASE}/{blocked}/test")
    html = page(admin.get(f"{BASE}/{blocked}/"))
    assert "not on the allow list" in html and "Could not connect to the server." not in html
    # An allowed address whose port is closed: refused is refused for the admin, not for the user.
    with app.app_context():
        save_entries(["127.0.0.1"], actor="root")
    closed = new_mailbox(user_client, "127.0.0.1", closed_port(), "Closed")
    user_client.post(f"{BASE}/{closed}/test")
    assert ("imap", "connect", "connection_refused") in stored_steps(app, closed)
    assert "The server refused the connection." in page(admin.get(f"{BASE}/{closed}/"))
    users_view = page(user_client.get(f"{BASE}/{closed}/"))
    assert "Could not connect to the server." in users_view and "refused the connection" not in users_view


def test_the_allow_list_page_is_for_admins_and_refuses_bad_entries(app, user_client, make_user):
    assert user_client.get(ADMIN_PAGE).status_code == 403
    make_user("root", admin=True, language="en")
    admin = app.test_client()
    assert login(admin, "root").status_code == 302
    assert "Allowed addresses" in page(admin.get(ADMIN_PAGE))
    bad = admin.post(ADMIN_PAGE, data={"entries": "10.0.0.0/8\n127.0.0.1:99999"})
    assert bad.status_code == 400 and "127.0.0.1:99999 is not an address" in page(bad)
    assert "10.0.0.0/8\n127.0.0.1:99999" in page(bad)  # what was typed stays
    good = admin.post(ADMIN_PAGE, data={"entries": "10.0.0.0/8\n\nmail.intern:143-993\n[fd00::5]:993"})
    assert good.status_code == 302
    with app.app_context():
        policy = mail_server_policy()
        assert [entry.text for entry in policy.allow] == ["10.0.0.0/8", "mail.intern:143-993", "[fd00::5]:993"]
        assert policy.permits("x", "10.1.2.3", 25) and policy.permits("mail.intern", "192.168.0.9", 993)
        assert not policy.permits("mail.intern", "192.168.0.9", 25)
        assert not policy.permits("other.intern", "192.168.0.9", 993)
    assert "mail.intern:143-993" in page(admin.get(ADMIN_PAGE))


def test_the_configured_allow_list_is_shown_and_kept(make_app, make_user):
    app = make_app(TRICOMA_MAIL_ALLOWED_MAIL_SERVERS="127.0.0.1:10143, 10.0.0.0/8")
    make_user("root", admin=True, language="en")
    admin = app.test_client()
    assert login(admin, "root").status_code == 302
    html = page(admin.get(ADMIN_PAGE))
    assert "<code>127.0.0.1:10143</code>" in html and "<code>10.0.0.0/8</code>" in html
    with app.app_context():
        policy = mail_server_policy()
        assert policy.permits("127.0.0.1", "127.0.0.1", 10143) and not policy.permits("127.0.0.1", "127.0.0.1", 10144)


def test_the_pages_in_german(app, make_user):
    make_user("wurzel", admin=True, language="de")
    admin = app.test_client()
    assert login(admin, "wurzel").status_code == 302
    html = page(admin.get(ADMIN_PAGE))
    assert "Mailserver" in html and "Erlaubte Adressen" in html


def test_the_allow_list_lets_the_local_mail_stack_through(app, make_mailbox, mailstack, make_user):
    mailbox_id = make_mailbox()
    with app.app_context():
        steps = service.run_test(db.session.get(Mailbox, mailbox_id))
    assert any(step.code == "not_allowed" for step in steps)
    profile = mailstack.profile(1)
    make_user("root", admin=True, language="en")
    admin = app.test_client()
    assert login(admin, "root").status_code == 302
    entries = f"127.0.0.1:{profile.imap_port}\n127.0.0.1:{profile.smtp_port}"
    assert admin.post(ADMIN_PAGE, data={"entries": entries}).status_code == 302
    with app.app_context():
        steps = service.run_test(db.session.get(Mailbox, mailbox_id))
    assert all(step.ok for step in steps), steps


# -- the policy itself ------------------------------------------------------------------------


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1", "::1", "::", "fe80::1", "fc00::1",
    "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1",
    "2001:db8::1",
])
def test_local_private_and_reserved_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))
    assert not AddressPolicy().permits("host", address, 993)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_pass(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("text", ["", "10.0.0.0/33", "host name", "a:b:c", "[::1", "[::1]993", "x:0",
                                  "x:2-1", "x:70000", "-bad.example", "127.0.0.1:port"])
def test_invalid_entries_are_refused(text):
    with pytest.raises(InvalidSettings):
        parse_entry(text)


def test_dns_is_asked_once_and_the_checked_address_is_the_one_connected(listener, monkeypatch):
    """DNS rebinding: a second answer must never be used, whatever it says."""
    port = listener.getsockname()[1]
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
    asked = []

    def rebinding(host, service_port, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), int(service_port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    policy = AddressPolicy((parse_entry(f"127.0.0.1:{port}"),))
    with closing(policy.connect("rebind.example", port, 2.0)) as sock:
        assert sock.getpeername() == ("127.0.0.1", port)
    assert asked == ["rebind.example"]
    assert connection_arrived(listener)
    # Refused on the first answer, however the name answers next time.
    answers = iter(["10.9.9.9", "127.0.0.1"])
    with pytest.raises(ServerNotAllowed):
        policy.connect("rebind.example", port, 2.0)
    assert not connection_arrived(listener)


def test_smtp_checks_the_certificate_against_the_configured_name(mailstack, monkeypatch):
    """Connected to the checked address, STARTTLS still verifies the name the user entered (the
    stack's certificate names localhost and 127.0.0.1, not mail.corp.example)."""
    fake_dns(monkeypatch, {"mail.corp.example": "127.0.0.1", "localhost": "127.0.0.1"})
    server = ServerSettings("mail.corp.example", mailstack.profile(1).smtp_port, "starttls", "", timeout=5.0,
                            ca_file=str(mailstack.cert), policy=AddressPolicy((parse_entry("127.0.0.1"),)))
    with pytest.raises(MailboxConnectionError) as failed:
        open_smtp(server)
    assert isinstance(failed.value.__cause__, ssl.SSLCertVerificationError)
    smtp = open_smtp(replace(server, host="localhost"))
    assert smtp.sock.getpeername()[0] == "127.0.0.1"
    smtp.quit()


def test_system_mail_is_not_checked(app):
    """System mail is configured by admins only (docs/security.md)."""
    with app.app_context():
        system_settings.update_system_settings({"host": "127.0.0.1", "port": "2525", "security": "none"})
        assert system_settings.system_smtp_settings().policy.open
