"""A sync records its ``received`` events already leased and delivers them without claiming them
(issue 14: every event row was written three times, the claim a round trip per batch), against
the real local mail stack. Crash safety stays: events a sync committed but did not deliver are
taken over by the next sync of the mailbox at once and delivered once; any other delivery run
leaves them to their lease."""
from __future__ import annotations

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

import sample_plugin
from hostapp.extensions import db
from tricoma_mail_plugin.cache import refresh, sync
from tricoma_mail_plugin.events.outbox import deliver_pending
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox, MailEvent, utcnow

COUNT = 7
BATCH = 2  # four batches, stored by the batch writer (on a file database)


class Crash(BaseException):
    """The process dies here (like a kill: nothing catches it)."""


@pytest.fixture(autouse=True)
def _clear_calls():
    sample_plugin.calls.clear()


@pytest.fixture
def mailbox_id(app, make_mailbox, mailstack, imap_client, monkeypatch) -> int:
    """A mailbox of a fresh account whose INBOX holds COUNT new messages."""
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    imap_client(1, email, password).multiappend("INBOX", [
        (f"From: kunde@example.test\r\nTo: {email}\r\nSubject: Anfrage {n}\r\n"
         f"Message-ID: <lease-{n}-{email}>\r\n\r\nGuten Tag\r\n").encode() for n in range(COUNT)])
    monkeypatch.setattr(sync, "BATCH_SIZE", BATCH)
    monkeypatch.setattr(sync, "WRITER_FROM", BATCH + 1)
    return mailbox_id


def run_sync(app, mailbox_id: int) -> None:
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, mailbox_id))


def received_deliveries() -> list[int]:
    """The ids of the ``received`` events the sample plugin's ``event`` hook got, in order."""
    return [args["event"].id for hook, args in sample_plugin.calls
            if hook == "event" and args["event"].name == "received"]


def events(app, mailbox_id: int) -> list[MailEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(MailEvent).where(MailEvent.mailbox_id == mailbox_id)
                                       .order_by(MailEvent.id)))
        db.session.expunge_all()
        return rows


def test_a_syncs_events_reach_the_hooks_without_a_claim(app, mailbox_id):
    """Per batch one UPDATE of the events (the "delivered" mark), no lease taken after the
    commit: the INSERT leased them."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE TRICOMA_MAIL_EVENT"):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", note)
    try:
        run_sync(app, mailbox_id)
    finally:
        sa_event.remove(engine, "before_cursor_execute", note)
    marks = [s for s in statements if "delivered_at" in s.split("WHERE")[0]]
    claims = [s for s in statements if s not in marks]
    assert claims == []
    assert len(marks) == -(-COUNT // BATCH)
    rows = events(app, mailbox_id)
    assert len(rows) == COUNT and all(r.delivered_at is not None and r.lease_owner is None for r in rows)
    assert sorted(received_deliveries()) == [r.id for r in rows]


def test_a_sync_stopped_after_its_commit_has_its_events_delivered_by_the_next_sync_at_once_and_once(
        app, mailbox_id, monkeypatch):
    def crash(*_delivered):
        raise Crash("killed right after the sync's commit")

    monkeypatch.setattr(sync, "deliver_recorded", crash)
    with pytest.raises(Crash):
        run_sync(app, mailbox_id)
    monkeypatch.undo()
    pending = [r for r in events(app, mailbox_id) if r.delivered_at is None]
    assert pending and received_deliveries() == []
    # Leased to the sync of this mailbox, for longer than until the next sync.
    assert all(r.lease_owner.startswith(f"sync:{mailbox_id}:") and r.lease_until > utcnow() for r in pending)
    with app.app_context():
        assert deliver_pending() == 0  # another delivery run waits for their lease

    run_sync(app, mailbox_id)  # the next sync of the mailbox takes them over first thing, then goes on
    delivered = received_deliveries()
    assert delivered[:len(pending)] == [r.id for r in pending]
    rows = events(app, mailbox_id)
    assert len(rows) == COUNT and all(r.delivered_at is not None and r.lease_owner is None for r in rows)
    assert sorted(delivered) == [r.id for r in rows]  # each once

    run_sync(app, mailbox_id)
    with app.app_context():
        assert deliver_pending() == 0
    assert received_deliveries() == delivered  # not twice


def test_a_sync_outside_the_sync_lease_stores_its_events_free_for_the_next_delivery_run(
        app, mailbox_id, monkeypatch):
    """A sync of a folder without the mailbox's sync lease (as an action syncs its target
    folder, maybe beside the lease's holder) records its events unleased and claims them after
    the commit, as before: should it stop in between, the next delivery run of any process
    delivers them at once, and once."""
    def crash(*_delivered):
        raise Crash("killed right after the sync's commit")

    monkeypatch.setattr(sync, "deliver_recorded", crash)
    with app.app_context(), pytest.raises(Crash):
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend, ["INBOX"])
    monkeypatch.undo()
    pending = [r for r in events(app, mailbox_id) if r.delivered_at is None]
    assert pending and all(r.lease_owner is None and r.lease_until is None for r in pending)

    with app.app_context():
        assert deliver_pending() == len(pending)  # not a sync: any delivery run takes them
        assert deliver_pending() == 0
    assert sorted(received_deliveries()) == [r.id for r in pending]
