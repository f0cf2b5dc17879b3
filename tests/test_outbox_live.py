"""Sending through the outbox against the real local stack: delivery, the Sent copy, Bcc, and
the faults that made other ERPs send twice or lose mail."""
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from fault_smtp import FaultySmtp
from polling import wait_for
from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.mime.build import HeaderInjection, InvalidMessage, OutgoingMessage
from tricoma_mail_plugin.models import Mailbox, OutboxItem, utcnow


@pytest.fixture
def sender(app, make_mailbox, mailstack, imap_client):
    """Factory: (mailbox id, IMAP client of the sender account, owner) on profile 1 or 2."""
    from app_fixtures import _fresh_account

    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0

    def make(profile=1):
        email, password = _fresh_account(mailstack, profile)
        mailbox_id = make_mailbox(profile, email, password)
        with app.app_context():
            service.run_test(db.session.get(Mailbox, mailbox_id))
        return mailbox_id, imap_client(profile, email, password), email, password

    return make


@pytest.fixture
def recipient(mailstack, imap_client):
    from app_fixtures import _fresh_account

    def make(profile=1):
        email, password = _fresh_account(mailstack, profile)
        return email, imap_client(profile, email, password)

    return make


def owner(app):
    from hostapp.models import User

    return db.session.scalar(select(User).where(User.username == "owner"))


def enqueue(app, mailbox_id, **fields):
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        fields.setdefault("subject", "Rechnung 2026-0042")
        fields.setdefault("text", "Guten Tag,\nanbei die Rechnung.\n")
        key = fields.pop("key", None)
        item = outbox.enqueue(mailbox, owner(app), OutgoingMessage(**fields), idempotency_key=key)
        return item.id


def run_worker(app):
    with app.app_context():
        return outbox.run_once()


def messages_in(client, folder, message_id=None):
    client.select_folder(folder, readonly=True)
    criteria = ["HEADER", "Message-ID", message_id] if message_id else ["ALL"]
    uids = client.search(criteria)
    return client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}


def item(app, item_id) -> OutboxItem:
    with app.app_context():
        found = db.session.get(OutboxItem, item_id)
        db.session.expunge(found)
        return found


@pytest.mark.parametrize("profile", [1, 2], ids=["standard", "hoster"])
def test_sent_message_arrives_once_with_one_sent_copy_and_bcc_hidden(app, sender, recipient, mailstack, profile):
    mailbox_id, sender_imap, _, _ = sender(profile)
    (to, to_imap), (bcc, bcc_imap) = recipient(1), recipient(2)
    item_id = enqueue(app, mailbox_id, to=(f"Kunde <{to}>",), bcc=(bcc,))
    assert run_worker(app) == 1
    sent = item(app, item_id)
    assert sent.state == "sent" and sent.sent_copy == "done"
    assert sent.sent_copy_folder == mailstack.profile(profile).sent_folder
    assert all(r["accepted"] for r in sent.recipient_results)
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX", sent.message_id)) == 1)
    assert wait_for(lambda: len(messages_in(bcc_imap, "INBOX", sent.message_id)) == 1)
    copies = messages_in(sender_imap, mailstack.profile(profile).sent_folder, sent.message_id)
    assert len(copies) == 1
    copy = list(copies.values())[0]
    assert b"\\Seen" in copy[b"FLAGS"]
    for data in [copy, *messages_in(to_imap, "INBOX").values(), *messages_in(bcc_imap, "INBOX").values()]:
        assert b"\nBcc:" not in data[b"BODY[]"]
    # the bytes we sent never name the Bcc recipient (the server's Delivered-To is its own)
    assert bcc.encode() not in sent.raw and bcc.encode() not in copy[b"BODY[]"]
    assert copy[b"BODY[]"] == sent.raw  # the Sent copy is the same bytes


@pytest.mark.parametrize("field,value", [
    ("subject", "Hallo\r\nBcc: victim@example.test"),
    ("to", ("Name\r\nX-Evil: 1 <x@example.test>",)),
    ("to", ("x@example.test\nBcc: y@example.test",)),
])
def test_header_injection_is_refused_and_nothing_is_queued(app, sender, field, value):
    mailbox_id, *_ = sender()
    with pytest.raises(HeaderInjection):
        enqueue(app, mailbox_id, **{"to": ("a@example.test",), field: value})
    with app.app_context():
        assert db.session.query(OutboxItem).count() == 0


def test_invalid_addresses_are_named(app, sender):
    mailbox_id, *_ = sender()
    with pytest.raises(InvalidMessage, match="not-an-address"):
        enqueue(app, mailbox_id, to=("ok@example.test", "not-an-address"))


def test_same_idempotency_key_twice_queues_one_mail(app, sender, recipient):
    mailbox_id, *_ = sender()
    to, to_imap = recipient()
    first = enqueue(app, mailbox_id, to=(to,), key="invoice:42:1")
    second = enqueue(app, mailbox_id, to=(to,), key="invoice:42:1")
    assert first == second
    run_worker(app)
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)


def _faulty_mailbox(app, mailbox_id, faulty):
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_username = faulty.port, "none", ""
        db.session.commit()


def test_4xx_at_rcpt_is_retried_and_delivered_once(app, sender, recipient, mailstack):
    mailbox_id, sender_imap, email, password = sender()
    to, to_imap = recipient()
    with FaultySmtp(mailstack.standard.smtp_port, email, password) as faulty:
        faulty.rcpt_4xx = 1
        _faulty_mailbox(app, mailbox_id, faulty)
        item_id = enqueue(app, mailbox_id, to=(to,))
        run_worker(app)
        waiting = item(app, item_id)
        assert waiting.state == "retry" and "451" in waiting.last_error
        assert waiting.not_before > utcnow() + timedelta(seconds=50)
        with app.app_context():
            db.session.get(OutboxItem, item_id).not_before = utcnow()
            db.session.commit()
        run_worker(app)
        run_worker(app)
    assert item(app, item_id).state == "sent"
    assert faulty.delivered == 1
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)
    assert len(messages_in(sender_imap, "Sent")) == 1


def test_5xx_fails_with_the_reason_and_sends_nothing(app, sender, recipient, mailstack):
    mailbox_id, sender_imap, email, password = sender()
    to, _ = recipient()
    with FaultySmtp(mailstack.standard.smtp_port, email, password) as faulty:
        faulty.rcpt_5xx = True
        _faulty_mailbox(app, mailbox_id, faulty)
        item_id = enqueue(app, mailbox_id, to=(to,))
        run_worker(app)
        run_worker(app)
    failed = item(app, item_id)
    assert failed.state == "failed" and "550" in failed.last_error
    assert faulty.delivered == 0
    assert messages_in(sender_imap, "Sent") == {}


def test_connection_cut_after_the_final_dot_is_uncertain_and_never_resent(app, sender, recipient, mailstack):
    mailbox_id, sender_imap, email, password = sender()
    to, to_imap = recipient()
    with FaultySmtp(mailstack.standard.smtp_port, email, password) as faulty:
        faulty.cut_after_data = True
        _faulty_mailbox(app, mailbox_id, faulty)
        item_id = enqueue(app, mailbox_id, to=(to,))
        run_worker(app)
        run_worker(app)
        assert item(app, item_id).state == "uncertain"
        assert faulty.delivered == 1
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)
    assert messages_in(sender_imap, "Sent") == {}


def test_worker_killed_after_smtp_accepted_files_the_copy_after_restart(app, sender, recipient, monkeypatch):
    mailbox_id, sender_imap, _, _ = sender()
    to, to_imap = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))

    def killed(item, connections=None):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(outbox, "file_sent_copy", killed)
    with pytest.raises(KeyboardInterrupt):
        run_worker(app)
    monkeypatch.undo()
    assert item(app, item_id).state == "sent" and item(app, item_id).sent_copy == "pending"
    with app.app_context():  # time passes: the dead worker's lease on the copy runs out
        db.session.get(OutboxItem, item_id).sent_copy_lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    run_worker(app)  # the restarted worker
    run_worker(app)
    assert item(app, item_id).sent_copy == "done"
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)
    assert len(messages_in(sender_imap, "Sent")) == 1


def test_imap_down_during_the_sent_copy_is_retried_and_appended_once(app, sender, recipient):
    mailbox_id, sender_imap, _, _ = sender()
    to, to_imap = recipient()
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        real_port, mailbox.imap_port = mailbox.imap_port, 1  # nothing listens there
        db.session.commit()
    item_id = enqueue(app, mailbox_id, to=(to,))
    run_worker(app)
    waiting = item(app, item_id)
    assert waiting.state == "sent" and waiting.sent_copy == "retry" and waiting.sent_copy_error
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.imap_port = real_port
        db.session.get(OutboxItem, item_id).sent_copy_not_before = utcnow()
        db.session.commit()
    run_worker(app)
    run_worker(app)
    assert item(app, item_id).sent_copy == "done"
    assert len(messages_in(sender_imap, "Sent")) == 1
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)


def test_expired_lease_after_the_final_dot_becomes_uncertain_not_queued(app, sender, recipient):
    mailbox_id, *_ = sender()
    to, _ = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))
    with app.app_context():
        claimed = outbox.claim_next("crashed-worker")
        assert claimed.id == item_id
        outbox.mark_stage(item_id, "crashed-worker", outbox.STAGE_FINAL_DOT)
        db.session.get(OutboxItem, item_id).lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    run_worker(app)
    assert item(app, item_id).state == "uncertain"


def test_undo_within_the_delay_sends_nothing_and_send_later_waits(app, sender, recipient):
    mailbox_id, *_ = sender()
    to, to_imap = recipient()
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 30
    undone = enqueue(app, mailbox_id, to=(to,), subject="undone")
    with app.app_context():
        outbox.cancel(db.session.get(OutboxItem, undone))
        mailbox = db.session.get(Mailbox, mailbox_id)
        app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
        later = outbox.enqueue(mailbox, owner(app), OutgoingMessage(to=(to,), subject="later", text="x"),
                               send_at=utcnow() + timedelta(seconds=2)).id
    assert run_worker(app) == 0
    assert item(app, later).state == "queued"
    time.sleep(2.2)
    assert run_worker(app) == 1
    assert item(app, undone).state == "cancelled" and item(app, later).state == "sent"
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)
    subjects = [d[b"BODY[]"] for d in messages_in(to_imap, "INBOX").values()]
    assert b"Subject: later" in subjects[0]


@pytest.mark.slow
def test_two_workers_racing_over_200_items_deliver_each_once(app, sender, recipient):
    mailbox_id, *_ = sender()
    to, to_imap = recipient()
    app.config["TRICOMA_MAIL_OUTBOX_POLL_SECONDS"] = 0
    ids = [enqueue(app, mailbox_id, to=(to,), subject=f"race {n}") for n in range(200)]
    errors = []

    def worker(name):
        try:
            with app.app_context():
                outbox.run_once(name)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors
    states = {item(app, item_id).state for item_id in ids}
    assert states == {"sent"}
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 200, seconds=60)
    to_imap.select_folder("INBOX", readonly=True)
    ids_seen = [d[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"] for d in
                to_imap.fetch(to_imap.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values()]
    assert len(set(ids_seen)) == 200
