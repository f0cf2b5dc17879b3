"""Flask-Mail as Flask hosts use it: Mailversand pre-filled from the host's ``MAIL_*`` settings
when nothing is stored yet, and ``mail.send(Message(...))`` queued in the outbox (scope "system")
with the message's own bytes and envelope, instead of going to SMTP. The live way to the mail
stack, through an outage, is in test_flask_mail_live.py."""
import logging
import re

import pytest
from flask_mail import Message
from sqlalchemy import select

from fault_smtp import free_port
from hostapp.extensions import db, mailer
from tricoma_mail_plugin.mailboxes.secret_box import SecretBox
from tricoma_mail_plugin.models import OutboxItem
from tricoma_mail_plugin.sending import flask_mail_bridge, system_settings

# A port nobody listens on: Flask-Mail talking to SMTP itself would fail loudly.
CLOSED_PORT = free_port()
# Flask-Mail renders a multipart message with new random boundaries each time.
BOUNDARY = re.compile(rb"={15}\d+==")


def flask_mail_config(**overrides) -> dict:
    config = {"MAIL_SERVER": "smtp.example.test", "MAIL_PORT": 587, "MAIL_USE_TLS": True,
              "MAIL_USERNAME": "erp@example.test", "MAIL_PASSWORD": "s3cret",
              "MAIL_DEFAULT_SENDER": ("Beispiel GmbH", "noreply@example.test")}
    config.update(overrides)
    return config


def queued(app) -> list[OutboxItem]:
    with app.app_context():
        items = list(db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
        for item in items:
            db.session.expunge(item)
        return items


# -- Mailversand pre-filled from MAIL_* -------------------------------------------------------


def test_mailversand_starts_with_the_hosts_flask_mail_settings(make_app):
    app = make_app(**flask_mail_config())
    with app.app_context():
        settings = system_settings.system_settings()
        assert (settings.host, settings.port, settings.security, settings.username) == (
            "smtp.example.test", 587, "starttls", "erp@example.test")
        assert (settings.sender_name, settings.sender_address) == ("Beispiel GmbH", "noreply@example.test")
        assert SecretBox.from_app().decrypt(settings.secrets) == {"password": "s3cret"}
        assert system_settings.system_smtp_settings().password == "s3cret"


def test_ssl_and_a_sender_written_as_one_string(make_app):
    app = make_app(**flask_mail_config(MAIL_USE_TLS=False, MAIL_USE_SSL=True, MAIL_PORT=465,
                                       MAIL_DEFAULT_SENDER="Rechnungen <rechnung@example.test>"))
    with app.app_context():
        settings = system_settings.system_settings()
        assert (settings.port, settings.security) == (465, "tls")
        assert (settings.sender_name, settings.sender_address) == ("Rechnungen", "rechnung@example.test")


def test_without_a_password_flask_mail_does_not_log_in_and_neither_do_we(make_app):
    app = make_app(**flask_mail_config(MAIL_PASSWORD=None))
    with app.app_context():
        settings = system_settings.system_settings()
        assert settings.host == "smtp.example.test" and settings.username == ""
        assert SecretBox.from_app().decrypt(settings.secrets).get("password", "") == ""


def test_stored_settings_are_never_overwritten(make_app):
    first = make_app()
    with first.app_context():
        system_settings.update_system_settings({"host": "mail.admin.test", "port": "465", "security": "tls",
                                                "sender_address": "admin@example.test"})
    second = make_app(**flask_mail_config())
    with second.app_context():
        settings = system_settings.system_settings()
        assert (settings.host, settings.port, settings.sender_address) == (
            "mail.admin.test", 465, "admin@example.test")


def test_without_mail_server_nothing_is_filled_in(make_app):
    app = make_app(MAIL_DEFAULT_SENDER="noreply@example.test")
    with app.app_context():
        settings = system_settings.system_settings()
        assert (settings.host, settings.sender_address) == ("", "")


def test_settings_our_rules_refuse_are_left_to_the_admin(make_app, caplog):
    # Plain SMTP to another machine: Flask-Mail allows it, Mailversand does not.
    app = make_app(**flask_mail_config(MAIL_USE_TLS=False))
    with caplog.at_level(logging.WARNING, logger="tricoma_mail_plugin.sending.system_settings"):
        with app.app_context():
            settings = system_settings.system_settings()
            assert (settings.host, settings.username, settings.sender_address) == ("", "", "")
    assert "not pre-filled" in caplog.text and "security" in caplog.text


# -- mail.send(Message(...)) goes to the outbox ---------------------------------------------------


@pytest.fixture
def host(make_app):
    """The host app (not in TESTING mode, so Flask-Mail would send) with Flask-Mail pointed at a
    closed port."""
    return make_app(TESTING=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=CLOSED_PORT,
                    MAIL_DEFAULT_SENDER=("Beispiel GmbH", "noreply@example.test"))


def test_a_sent_message_is_queued_with_its_own_bytes_and_envelope(host):
    with host.app_context(), mailer.record_messages() as recorded:
        message = Message("Ihre Bestellung", recipients=["Kunde <kunde@example.test>"],
                          cc=[("Jörg Ähnlich", "joerg@example.test")], bcc=["archiv@example.test"],
                          body="Grüße aus dem ERP\n", html="<p>Grüße</p>")
        message.attach("liste.csv", "text/csv", b"a;b\n1;2\n")
        mailer.send(message)
        rendered = message.as_bytes()
    [item] = queued(host)
    assert recorded == [message]  # Flask-Mail's own test helper still sees every message
    assert item.scope == "system" and item.mailbox_id is None and item.state == "queued"
    assert BOUNDARY.sub(b"-", item.raw) == BOUNDARY.sub(b"-", rendered)
    assert item.sender == "noreply@example.test"
    assert item.recipients == ["kunde@example.test", "joerg@example.test", "archiv@example.test"]
    assert item.message_id == message.msgId and item.subject == "Ihre Bestellung"
    assert b"archiv@example.test" not in item.raw and b"Bcc" not in item.raw
    assert item.sent_copy == "skipped"


def test_a_plain_message_is_stored_byte_for_byte(host):
    with host.app_context():
        message = Message("Hallo", recipients=["kunde@example.test"], body="Hallo Welt\n")
        mailer.send(message)
        assert queued(host)[0].raw == message.as_bytes()


def test_the_same_message_sent_twice_is_queued_once(host):
    with host.app_context():
        message = Message("Einmal", recipients=["kunde@example.test"], body="x")
        mailer.send(message)
        mailer.send(message)
    assert len(queued(host)) == 1


def test_the_host_can_keep_flask_mail_quiet(make_app):
    app = make_app(MAIL_SUPPRESS_SEND=True, MAIL_DEFAULT_SENDER="noreply@example.test")
    with app.app_context(), mailer.record_messages() as recorded:
        mailer.send(Message("Stumm", recipients=["kunde@example.test"], body="x"))
    assert len(recorded) == 1 and queued(app) == []


def test_the_bridge_can_be_switched_off(make_app):
    app = make_app(TESTING=False, TRICOMA_MAIL_FLASK_MAIL_OUTBOX=False, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=CLOSED_PORT, MAIL_DEFAULT_SENDER="noreply@example.test")
    with app.app_context(), pytest.raises(ConnectionRefusedError):
        mailer.send(Message("Direkt", recipients=["kunde@example.test"], body="x"))
    assert queued(app) == []


def test_without_flask_mail_installed_there_is_no_bridge(make_app, monkeypatch):
    monkeypatch.setattr(flask_mail_bridge, "flask_mail", None)
    app = make_app(TESTING=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=CLOSED_PORT,
                   MAIL_DEFAULT_SENDER="noreply@example.test")
    assert app.extensions["mail"].suppress is False
    with app.app_context(), pytest.raises(ConnectionRefusedError):
        mailer.send(Message("Direkt", recipients=["kunde@example.test"], body="x"))
    assert queued(app) == []
