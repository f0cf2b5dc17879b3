"""Bodies fetched ahead after a sync (issue 14): the unread and the newest mail of the inbox is
opened without asking the server, within the free room of the body budget, and prefetching
never pushes out a body someone read."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from app_fixtures import _fresh_account, login
from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin.cache import bodies, refresh
from tricoma_mail_plugin.models import CachedBody, CachedMessage, Mailbox
from tricoma_mail_plugin.web import message_views

pytestmark = pytest.mark.live
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = "owner@example.test"
    message["Subject"] = f"Bestellung {number}"
    message["Message-ID"] = f"<prefetch-{number}@example.test>"
    message["Date"] = format_datetime(START + timedelta(days=number))
    message.set_content(f"Bestellung Nummer {number}.\n" + "Zeile\n" * 40)
    return message.as_bytes()


@pytest.fixture
def inbox(app, make_mailbox, mailstack, imap_client):
    """A mailbox with messages 0-5 (5 is the newest; 1 and 2 unread), not synced yet."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    server = imap_client(1, email, password)
    for number in range(6):
        server.append("INBOX", mail(number), flags=() if number in (1, 2) else ("\\Seen",))
    return mailbox_id


def cached_subjects(app, mailbox_id: int) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(
            select(CachedMessage.subject).join(CachedBody, CachedBody.message_pk == CachedMessage.id)
            .where(CachedBody.mailbox_id == mailbox_id)))


def pk_of(app, subject: str) -> int:
    with app.app_context():
        return db.session.scalar(select(CachedMessage.id).where(CachedMessage.subject == subject))


def test_unread_and_newest_mail_opens_without_asking_the_server(app, inbox, monkeypatch):
    app.config["TRICOMA_MAIL_PREFETCH_MESSAGES"] = 2
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, inbox))
    assert cached_subjects(app, inbox) == {"Bestellung 5", "Bestellung 4", "Bestellung 2", "Bestellung 1"}

    client = app.test_client()
    assert login(client, "owner").status_code == 302

    def no_server(*_args, **_kwargs):
        raise AssertionError("the mail server was asked")

    monkeypatch.setattr(message_views, "backend_for", no_server)
    monkeypatch.setattr(bodies, "backend_for", no_server)
    page = client.get(f"/mail/m/{inbox}/messages/{pk_of(app, 'Bestellung 4')}")
    assert page.status_code == 200 and "Bestellung Nummer 4." in page.get_data(as_text=True)
    # an old read message was not fetched ahead: opening it needs the server
    with pytest.raises(AssertionError, match="the mail server was asked"):
        client.get(f"/mail/m/{inbox}/messages/{pk_of(app, 'Bestellung 0')}")


def test_prefetching_uses_only_free_room_and_keeps_what_was_read(app, inbox):
    app.config["TRICOMA_MAIL_PREFETCH_MESSAGES"] = 0
    with app.app_context():
        mailbox = db.session.get(Mailbox, inbox)
        refresh.run_sync(mailbox)
        size = len(bodies.raw_message(mailbox, pk_of(app, "Bestellung 0")))  # read by someone
    assert cached_subjects(app, inbox) == {"Bestellung 0"}

    # half the budget holds two and a half bodies of about this size: room for two more
    app.config["TRICOMA_MAIL_BODY_CACHE_BYTES"] = size * 5
    app.config["TRICOMA_MAIL_PREFETCH_MESSAGES"] = 10
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, inbox))
    assert cached_subjects(app, inbox) == {"Bestellung 0", "Bestellung 5", "Bestellung 4"}
