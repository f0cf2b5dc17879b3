"""Bulk mail from apps, against the real local stack: one mail per recipient with its own
one-click unsubscribe link (RFC 8058 headers), the link records the opt-out without a login and
later sends leave the address out; a mailbox's hourly send limit keeps the rest queued instead
of failing them, and they leave once the hour has passed."""
from __future__ import annotations

import email
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from app_fixtures import _fresh_account
from sqlalchemy import select, update

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import InvalidSettings, OutgoingMessage, send_bulk_on_behalf
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox, OptOut, OutboxItem, utcnow
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.sending import outbox


@pytest.fixture
def newsletter(app, make_mailbox, mailstack, imap_client, make_user):
    """A tested mailbox, a clerk who may send from apps through it, and three customers."""
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    app.config["TRICOMA_MAIL_PUBLIC_URL"] = "https://erp.example.test/"
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password)
    clerk_id = make_user("clerk").id
    customers = [_fresh_account(mailstack, 1) for _ in range(3)]
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
        access.grant(mailbox_id, "user", clerk_id, "send_from_apps")
    return {"mailbox": mailbox_id, "clerk": clerk_id, "customers": [c for c, _ in customers],
            "imap": [imap_client(1, c, p) for c, p in customers]}


def received(client, count: int = 1, timeout: float = 10.0) -> list[email.message.Message]:
    deadline = time.monotonic() + timeout
    while True:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        if len(uids) >= count or time.monotonic() > deadline:
            return [email.message_from_bytes(data[b"BODY[]"])
                    for data in client.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []
        time.sleep(0.1)


def bulk(app, newsletter, subject: str):
    with app.app_context():
        return send_bulk_on_behalf(db.session.get(User, newsletter["clerk"]),
                                   db.session.get(Mailbox, newsletter["mailbox"]),
                                   OutgoingMessage(subject=subject, text="Unsere Neuigkeiten im Dezember."),
                                   newsletter["customers"], list_key="newsletter")


def test_bulk_mail_carries_one_click_unsubscribe_and_honours_it(app, newsletter):
    first = bulk(app, newsletter, "Neuigkeiten 1")
    assert len(first.queued) == 3 and first.opted_out == ()
    with app.app_context():
        assert outbox.run_once() == 3
    links = []
    for customer, client in zip(newsletter["customers"], newsletter["imap"]):
        [mail] = received(client)
        assert mail["To"] == customer  # each recipient alone: nobody sees the others
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = mail["List-Unsubscribe"]
        assert link.startswith("<https://erp.example.test/mail/unsubscribe/") and link.endswith(">")
        links.append(urlsplit(link[1:-1]).path)
    assert len(set(links)) == 3

    anonymous = app.test_client()  # a mail client's button: no session, no CSRF token
    assert anonymous.get(links[1]).status_code == 200  # a person (or a link scanner) only sees a question
    answer = anonymous.post(links[0], data="List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and newsletter["customers"][0] in answer.get_data(as_text=True)
    assert anonymous.post(links[0], data="List-Unsubscribe=One-Click",
                          content_type="application/x-www-form-urlencoded").status_code == 200  # again: fine
    assert anonymous.post(links[0][:-3] + "xyz", data="List-Unsubscribe=One-Click").status_code == 404
    with app.app_context():
        opted = db.session.scalars(select(OptOut)).all()
        assert [(o.mailbox_id, o.list_key, o.address) for o in opted] == \
            [(newsletter["mailbox"], "newsletter", newsletter["customers"][0])]

    second = bulk(app, newsletter, "Neuigkeiten 2")
    assert second.opted_out == (newsletter["customers"][0],) and len(second.queued) == 2
    with app.app_context():
        assert outbox.run_once() == 2
    assert [m["Subject"] for m in received(newsletter["imap"][1], 2)] == ["Neuigkeiten 1", "Neuigkeiten 2"]
    assert [m["Subject"] for m in received(newsletter["imap"][0], 1, timeout=1)] == ["Neuigkeiten 1"]

    with app.app_context(), pytest.raises(InvalidSettings):
        send_bulk_on_behalf(db.session.get(User, newsletter["clerk"]), db.session.get(Mailbox, newsletter["mailbox"]),
                            OutgoingMessage(subject="x", text="x"), newsletter["customers"], list_key=" ")


def test_the_hourly_send_limit_queues_instead_of_failing(app, newsletter, admin_client):
    # The limit is a setting of the mailbox page.
    with app.app_context():
        mailbox = db.session.get(Mailbox, newsletter["mailbox"])
        service.update_settings(mailbox, {"send_rate_per_hour": "2"})
        assert mailbox.send_rate_per_hour == 2
    result = bulk(app, newsletter, "Neuigkeiten")
    with app.app_context():
        assert outbox.run_once() == 2
        items = {item.id: item for item in db.session.scalars(select(OutboxItem))}
        waiting = [item for item in items.values() if item.state != "sent"]
        assert len(waiting) == 1 and waiting[0].state == "queued" and waiting[0].attempts == 0
        assert "2 mails an hour" in waiting[0].last_error
        assert waiting[0].not_before > utcnow() + timedelta(minutes=55)
        assert outbox.run_once() == 0  # still within the hour
        # An hour later: the two sends are older than the window, the waiting mail is due.
        an_hour_ago = utcnow() - timedelta(minutes=61)
        db.session.execute(update(OutboxItem).where(OutboxItem.state == "sent").values(smtp_accepted_at=an_hour_ago))
        db.session.execute(update(OutboxItem).where(OutboxItem.id == waiting[0].id).values(not_before=utcnow()))
        db.session.commit()
        assert outbox.run_once() == 1
        assert {item.state for item in db.session.scalars(select(OutboxItem))} == {"sent"}
        assert db.session.get(OutboxItem, waiting[0].id).last_error is None
    assert len(result.queued) == 3
    assert sum(len(received(client, 1)) for client in newsletter["imap"]) == 3
