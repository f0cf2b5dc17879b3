"""A Flask host that sends mail with nothing but Flask-Mail's API: initialising tricoma mail is
all it takes for its password-reset mail to go through the outbox, keep through an SMTP outage
and arrive once in the user's real INBOX on the local mail stack."""
import email
import re
from collections.abc import Iterator
from email.policy import default as default_policy

import pytest
from flask import Flask, request, url_for
from flask_babel import Babel
from flask_mail import Mail, Message
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from fault_smtp import FaultySmtp
from tricoma_mail_plugin import TricomaMail, migration_metadata
from tricoma_mail_plugin.archive.guard import guard_lifted
from tricoma_mail_plugin.jobs.background import stop_background_work
from tricoma_mail_plugin.models import OutboxItem, utcnow
from tricoma_mail_plugin.sending import outbox

LINK = re.compile(r"https://erp\.example\.test/reset/(\w+)")


def make_host(database_url: str, **mail_config) -> Flask:
    """What a Flask host already has (a database, Flask-Mail, a forgot-password view) plus one
    line for tricoma mail."""
    app = Flask(__name__)
    # Not in TESTING mode, where Flask-Mail would keep quiet on its own; the test runs the outbox
    # itself (no polling, no sync), and the factory stops the background work the first request
    # starts.
    app.config.update(SECRET_KEY="flask-mail-host", SQLALCHEMY_DATABASE_URI=database_url,
                      WTF_CSRF_ENABLED=False, SERVER_NAME="erp.example.test", PREFERRED_URL_SCHEME="https",
                      TRICOMA_MAIL_LOAD_ENTRYPOINTS=False, TRICOMA_MAIL_UNDO_SEND_SECONDS=0,
                      TRICOMA_MAIL_OUTBOX_POLL_SECONDS=0, TRICOMA_MAIL_SYNC_INTERVAL=0, **mail_config)
    db = SQLAlchemy(app)
    Babel(app)
    mail = Mail(app)
    TricomaMail(db).init_app(app)

    @app.post("/forgot")
    def forgot():
        link = url_for("reset", token="a1b2c3", _external=True)
        mail.send(Message("Reset your password", recipients=[request.form["email"]],
                          body=f"Open this link to choose a new password:\n\n{link}\n"))
        return "If the account exists, a link is on its way."

    @app.get("/reset/<token>")
    def reset(token):
        return token

    return app


@pytest.fixture
def host_factory(database_url) -> Iterator:
    """Factory of host apps on the session database; core's tables are emptied afterwards."""
    apps = []

    def make(**mail_config) -> Flask:
        app = make_host(database_url, **mail_config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        stop_background_work(app, wait=1.0)  # its first request started them (not TESTING)
        with app.app_context():
            database = app.extensions["sqlalchemy"]
            with database.engine.begin() as connection, guard_lifted(connection):
                for metadata in migration_metadata():
                    for table in reversed(metadata.sorted_tables):
                        connection.execute(table.delete())
            database.engine.dispose()


def the_item(app) -> OutboxItem:
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        [item] = session.scalars(select(OutboxItem))
        session.expunge(item)
        return item


def make_due(app) -> None:
    """Let the backoff pass: a later outbox run may try again."""
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        session.scalar(select(OutboxItem)).not_before = utcnow()
        session.commit()


def run_outbox(app) -> int:
    with app.app_context():
        return outbox.run_once()


def inbox_messages(imap_client, address: str, password: str) -> list[bytes]:
    inbox = imap_client(1, address, password)
    inbox.select_folder("INBOX", readonly=True)
    uids = inbox.search(["ALL"])
    return [data[b"BODY[]"] for data in inbox.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []


def test_a_flask_mail_reset_survives_an_smtp_outage_and_arrives_once(host_factory, mailstack, fresh_user,
                                                                       imap_client):
    sender, sender_password = fresh_user(1)
    user, user_password = fresh_user(1)
    smtp = FaultySmtp(mailstack.standard.smtp_port, sender, sender_password)  # not started: down
    app = host_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port,
                       MAIL_DEFAULT_SENDER=("Beispiel ERP", sender))

    assert app.extensions["mail"].suppress is True  # Flask-Mail itself opens no SMTP connection any more
    response = app.test_client().post("/forgot", data={"email": user})
    assert response.status_code == 200
    queued = the_item(app)
    assert (queued.scope, queued.state, queued.sender, queued.recipients) == ("system", "queued", sender, [user])

    assert run_outbox(app) == 1  # the SMTP server is down
    first = the_item(app)
    assert first.state == "retry" and first.attempts == 1 and first.not_before > utcnow()
    assert first.raw == queued.raw

    with smtp:
        smtp.rcpt_4xx = 1  # back, but still refusing for a moment
        make_due(app)
        assert run_outbox(app) == 1
        second = the_item(app)
        assert second.state == "retry" and second.attempts == 2 and "451" in second.last_error
        make_due(app)
        assert run_outbox(app) == 1
        assert run_outbox(app) == 0  # nothing left: it is never sent again
    sent = the_item(app)
    assert sent.state == "sent" and sent.attempts == 3 and sent.recipient_results[0]["accepted"]
    assert smtp.delivered == 1

    [raw] = inbox_messages(imap_client, user, user_password)
    assert raw.endswith(queued.raw)  # the bytes Flask-Mail made, after the servers' trace headers
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == "Reset your password"
    assert message["From"] == f"Beispiel ERP <{sender}>" and message["Message-ID"] == queued.message_id
    assert LINK.search(message.get_content()).group(1) == "a1b2c3"


def test_mailversand_from_flask_mail_settings_reaches_the_real_server(host_factory, mailstack, fresh_user,
                                                                       imap_client):
    """STARTTLS and a login, taken over from MAIL_USE_TLS, MAIL_USERNAME and MAIL_PASSWORD."""
    sender, sender_password = fresh_user(1)
    user, user_password = fresh_user(1)
    app = host_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=mailstack.standard.smtp_port, MAIL_USE_TLS=True,
                       MAIL_USERNAME=sender, MAIL_PASSWORD=sender_password, MAIL_DEFAULT_SENDER=sender,
                       TRICOMA_MAIL_CA_FILE=str(mailstack.cert))
    app.test_client().post("/forgot", data={"email": user})
    assert run_outbox(app) == 1
    assert the_item(app).state == "sent"
    [raw] = inbox_messages(imap_client, user, user_password)
    assert raw.endswith(the_item(app).raw)
