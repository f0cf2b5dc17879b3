"""The Test action reports the right typed step, against the real local stack."""
import socket

import pytest

from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox

from hostapp.extensions import db


def _steps(app, mailbox_id, **changes):
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        if changes:
            service.update_settings(mailbox, changes)
        return service.run_test(mailbox), mailbox_id


def _first_failure(steps):
    return next(((s.protocol, s.step, s.code) for s in steps if not s.ok and s.code != "skipped"), None)


@pytest.mark.parametrize("profile,security", [(1, "starttls"), (1, "tls"), (2, "starttls")])
def test_a_good_configuration_passes_every_step(app, make_mailbox, profile, security):
    steps, mailbox = _steps(app, make_mailbox(profile, security=security))
    assert _first_failure(steps) is None, steps
    assert {(s.protocol, s.step) for s in steps} >= {
        ("imap", "resolve"), ("imap", "connect"), ("imap", "login"), ("imap", "folders"),
        ("smtp", "connect"), ("smtp", "ehlo"), ("smtp", "starttls"), ("smtp", "auth")}
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox)
        assert mailbox.last_test_ok is True and mailbox.last_test_at is not None


def test_wrong_password(app, make_mailbox):
    steps, _ = _steps(app, make_mailbox(), imap_password="wrong", smtp_password="wrong")
    failures = [(s.protocol, s.step, s.code) for s in steps if s.code not in ("ok", "skipped")]
    assert ("imap", "login", "wrong_password") in failures
    assert ("smtp", "auth", "wrong_password") in failures
    login = next(s for s in steps if s.protocol == "imap" and s.step == "login")
    assert "AUTHENTICATIONFAILED" in login.detail and "b'" not in login.detail  # the server's words, not Python's bytes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_closed_port(app, make_mailbox):
    closed = _free_port()
    steps, mailbox = _steps(app, make_mailbox(), imap_port=closed)
    assert _first_failure(steps) == ("imap", "connect", "connection_refused")
    with app.app_context():
        assert db.session.get(Mailbox, mailbox).last_test_ok is False


def test_tls_to_a_plain_port(app, make_mailbox, mailstack):
    steps, _ = _steps(app, make_mailbox(), imap_security="tls", imap_port=mailstack.standard.imap_port)
    assert _first_failure(steps) == ("imap", "tls", "tls_to_plain_port")


def test_host_that_does_not_resolve(app, make_mailbox):
    steps, _ = _steps(app, make_mailbox(), imap_host="no-such-host.invalid")
    assert _first_failure(steps) == ("imap", "resolve", "cannot_resolve")


def test_smtp_server_that_offers_no_auth(app, make_mailbox):
    """A real SMTP server on 127.0.0.1 that does not advertise AUTH."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = _free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        steps, _ = _steps(app, make_mailbox(), smtp_port=port, smtp_security="none")
    finally:
        controller.stop()
    assert _first_failure(steps) == ("smtp", "auth", "auth_method_not_offered")


def test_an_imap_port_given_as_smtp_is_not_an_smtp_server(app, make_mailbox, mailstack):
    steps, _ = _steps(app, make_mailbox(), smtp_port=mailstack.standard.imap_port, smtp_security="none")
    assert _first_failure(steps) == ("smtp", "greeting", "not_smtp_server")


def test_secrets_never_reach_the_stored_result(app, make_mailbox):
    steps, mailbox = _steps(app, make_mailbox(), imap_password="s3cret-wrong-pw")
    with app.app_context():
        stored = db.session.get(Mailbox, mailbox)
        assert "s3cret-wrong-pw" not in repr(stored.last_test_steps)
        assert "s3cret-wrong-pw" not in stored.secrets
