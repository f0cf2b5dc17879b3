"""The initial sync's speed-ups against the real local Dovecot (issue 14): the next batch's UID
FETCH is on its way before a batch is handed out (the server works while we parse and store), a
caller that stops early leaves a usable connection, and the ``received`` events of a batch are
delivered from memory, claimed by id, without reading them back."""
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account
from fetch_steps import fetch_steps
from sqlalchemy import event, select

from hostapp.extensions import db
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox, MailEvent
from tricoma_mail_plugin.events.received import complete_received
from tricoma_mail_plugin.events.values import Event

pytestmark = pytest.mark.live


def message(number: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Absender {number} <absender{number}@example.test>"
    mail["To"] = "owner@example.test"
    mail["Subject"] = f"Nachricht {number}"
    mail["Message-ID"] = f"<pipe-{number}@example.test>"
    mail.set_content(f"Text {number}\n")
    return mail.as_bytes()


@pytest.fixture
def filled(app, make_mailbox, mailstack, imap_client):
    """A mailbox whose INBOX holds 120 messages on the server: (mailbox id, other client)."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    other = imap_client(1, email, password)
    other.multiappend("INBOX", [message(n) for n in range(120)])
    return mailbox_id, other


def test_the_next_batch_is_asked_for_before_a_batch_is_handed_out(app, filled):
    mailbox_id, _other = filled
    with app.app_context(), service.backend_for(db.session.get(Mailbox, mailbox_id)) as backend:
        backend.select("INBOX")
        uids = backend.search_uids()
        steps = fetch_steps(backend, uids, 50)
    first, second, third = uids[0], uids[50], uids[100]
    assert steps == [f"ask {first}", f"ask {second}", f"got {first} (50)", f"ask {third}",
                     f"got {second} (50)", f"got {third} (20)"]


def test_a_caller_that_stops_early_leaves_a_usable_connection(app, filled):
    mailbox_id, _other = filled
    with app.app_context(), service.backend_for(db.session.get(Mailbox, mailbox_id)) as backend:
        backend.select("INBOX")
        uids = backend.search_uids()
        batches = backend.fetch_summary_batches(uids, 50)
        first = next(batches)
        batches.close()  # the next batch's answer is on its way: it is read and dropped
        assert [s.uid for s in first.summaries] == uids[:50]
        assert backend.search_uids() == uids
        [again] = list(backend.fetch_summary_batches(uids[:3], 50))
        assert [s.subject for s in again.summaries] == ["Nachricht 0", "Nachricht 1", "Nachricht 2"]


def test_received_events_are_delivered_from_memory_without_reading_them_back(app, filled, monkeypatch):
    mailbox_id, _other = filled
    monkeypatch.setattr(sync, "BATCH_SIZE", 50)
    reads = []

    def count_event_reads(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "tricoma_mail_event" in statement:
            reads.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count_event_reads)
        try:
            mailbox = db.session.get(Mailbox, mailbox_id)
            with service.backend_for(mailbox) as backend:
                [result] = sync.sync_mailbox(mailbox, backend, ["INBOX"])
        finally:
            event.remove(engine, "before_cursor_execute", count_event_reads)
        assert result.new == 120
        assert reads == []
        events = list(db.session.scalars(select(MailEvent).where(MailEvent.mailbox_id == mailbox_id)))
        assert len(events) == 120 and all(e.name == "received" and e.delivered_at is not None for e in events)
        assert all(e.lease_owner is None for e in events)
        # stored by reference to the cached rows, whole again when read back
        assert all("message_id" not in e.payload for e in events)
        whole = complete_received([Event.of(e) for e in events])
        assert sorted(e.payload["message_id"] for e in whole) == sorted(f"<pipe-{n}@example.test>" for n in range(120))
