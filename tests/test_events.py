"""Events against the real local mail stack: each kind is recorded in the transaction of the
change that causes it (a change that is rolled back records no event, and an event is never
committed without its change), delivered once after the commit, and a process that dies between
the commit and the hook call still delivers the event once after a restart."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from imapclient import IMAPClient
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

import sample_plugin
from sample_plugin import notes
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import MailboxInfo, OutgoingMessage, Reference, SentMail
from tricoma_mail_plugin.cache import refresh, sync
from tricoma_mail_plugin.events.outbox import deliver_pending, record_event
from tricoma_mail_plugin.mail import message_actions
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedMessage, Mailbox, MailEvent, MailIntent, OutboxItem, utcnow
from tricoma_mail_plugin.sending import outbox


class Crash(BaseException):
    """The process dies here (like a kill: nothing catches it)."""


class LostCommit(Exception):
    """The database refused the commit (like a connection lost at COMMIT)."""


@dataclass
class Shop:
    mailbox_id: int
    imap: IMAPClient
    email: str


@pytest.fixture(autouse=True)
def _clear_calls():
    sample_plugin.calls.clear()


@pytest.fixture
def shop(app, make_mailbox, mailstack, imap_client) -> Shop:
    """A tested mailbox of a fresh account on the standard profile, with its IMAP client."""
    from app_fixtures import _fresh_account

    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
    return Shop(mailbox_id, imap_client(1, email, password), email)


def append(shop: Shop, message_id: str, folder: str = "INBOX") -> None:
    shop.imap.append(folder, (f"From: kunde@example.test\r\nTo: {shop.email}\r\nSubject: Anfrage\r\n"
                              f"Message-ID: {message_id}\r\n\r\nGuten Tag\r\n").encode())


def run_sync(app, shop: Shop) -> None:
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, shop.mailbox_id))


def delivered(name: str) -> list:
    """The events of ``name`` the sample plugin's ``event`` hook received, in order."""
    return [args["event"] for hook, args in sample_plugin.calls if hook == "event" and args["event"].name == name]


def typed_calls(hook: str) -> list[dict]:
    return [args for called, args in sample_plugin.calls if called == hook]


def stored_events(app) -> list[MailEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(MailEvent).order_by(MailEvent.id)))
        db.session.expunge_all()
        return rows


@contextmanager
def commit_of_an_event_fails():
    """The first commit that would store an event fails. Rolled back, the test then shows that
    the change of that transaction is gone too: event and change are one transaction."""
    session = db.session()
    before = session.scalar(select(func.count()).select_from(MailEvent))

    def refuse(session):
        if session.scalar(select(func.count()).select_from(MailEvent)) > before:
            raise LostCommit()

    sa_event.listen(session, "before_commit", refuse)
    try:
        with pytest.raises(Exception) as raised:
            yield
        # a sync reports an unexpected error as a MailError caused by it (issue 17)
        assert isinstance(raised.value, LostCommit) or isinstance(raised.value.__cause__, LostCommit), raised.value
        session.rollback()
    finally:
        sa_event.remove(session, "before_commit", refuse)


def owner():
    return db.session.scalar(select(User).where(User.username == "owner"))


def cached(message_id: str) -> CachedMessage | None:
    return db.session.scalar(select(CachedMessage).where(CachedMessage.message_id == message_id))


# -- received ------------------------------------------------------------------------------------


def sync_and_stop_before_the_delivery(app, shop: Shop, monkeypatch) -> None:
    """A sync whose process is killed right after its commit, before it delivers the events."""
    def crash(*_delivered):
        raise Crash("killed right after the sync's commit")

    monkeypatch.setattr(sync, "deliver_recorded", crash)
    with pytest.raises(Crash):
        run_sync(app, shop)
    monkeypatch.undo()


def test_a_crash_between_the_commit_and_the_hook_call_delivers_the_event_once_after_restart(
        app, make_app, shop, monkeypatch):
    append(shop, "<crash-1@example.test>")
    sync_and_stop_before_the_delivery(app, shop, monkeypatch)
    with app.app_context():
        db.session.remove()  # the process is gone; what it committed stays
        assert cached("<crash-1@example.test>") is not None
    [pending] = stored_events(app)
    assert pending.name == "received" and pending.delivered_at is None
    # stored by reference to the cached row (events/received.py), made whole when delivered
    assert pending.payload["folder"] == "INBOX" and "message_id" not in pending.payload
    with app.app_context():
        assert pending.payload["uid"] == cached("<crash-1@example.test>").uid
    assert delivered("received") == [] and typed_calls("message_received") == []  # none before the crash

    restarted = make_app(TRICOMA_MAIL_CA_FILE=app.config["TRICOMA_MAIL_CA_FILE"])
    with restarted.app_context():
        outbox.run_once()  # the restarted worker's first run
        outbox.run_once()
        refresh.run_sync(db.session.get(Mailbox, shop.mailbox_id))
    [received] = delivered("received")
    assert received.id == pending.id and received.mailbox_id == shop.mailbox_id
    assert received.payload["message_id"] == "<crash-1@example.test>" and received.payload["folder"] == "INBOX"
    [typed] = typed_calls("message_received")
    assert typed["summary"].message_id == "<crash-1@example.test>" and typed["folder"] == "INBOX"
    assert isinstance(typed["mailbox"], MailboxInfo) and typed["mailbox"].id == shop.mailbox_id
    assert all(row.delivered_at is not None for row in stored_events(app))


def test_a_received_event_whose_message_left_the_cache_before_delivery_keeps_folder_and_uid(
        app, make_app, shop, monkeypatch):
    append(shop, "<gone-1@example.test>")
    append(shop, "<kept-1@example.test>")
    sync_and_stop_before_the_delivery(app, shop, monkeypatch)
    with app.app_context():
        db.session.remove()
        gone = cached("<gone-1@example.test>")
        gone_uid = gone.uid
        db.session.delete(gone)  # expunged elsewhere, and a sync without events removed it
        db.session.commit()
    restarted = make_app(TRICOMA_MAIL_CA_FILE=app.config["TRICOMA_MAIL_CA_FILE"])
    with restarted.app_context():
        outbox.run_once()
        outbox.run_once()
        deliver_pending(taking_over=shop.mailbox_id)
    by_uid = {event.payload["uid"]: event for event in delivered("received")}
    assert dict(by_uid[gone_uid].payload) == {"folder": "INBOX", "uid": gone_uid}
    [kept] = [event for uid, event in by_uid.items() if uid != gone_uid]
    assert kept.payload["message_id"] == "<kept-1@example.test>" and kept.payload["subject"] == "Anfrage"
    assert kept.payload["from_"] == "kunde@example.test" and kept.payload["flags"] == ()
    # the typed hooks get only messages whose summary is known
    assert [call["summary"].message_id for call in typed_calls("message_received")] == ["<kept-1@example.test>"]
    assert all(row.delivered_at is not None for row in stored_events(app))


def test_a_received_event_delivered_later_has_the_payload_it_has_when_delivered_at_once(
        app, make_app, shop, monkeypatch):
    """The message has no Date header: its cached row holds the arrival time there (the list
    sorts by it), the payload made from the row must still say there was none."""
    append(shop, "<at-once@example.test>")
    run_sync(app, shop)
    [at_once] = delivered("received")
    append(shop, "<later@example.test>")
    sync_and_stop_before_the_delivery(app, shop, monkeypatch)
    restarted = make_app(TRICOMA_MAIL_CA_FILE=app.config["TRICOMA_MAIL_CA_FILE"])
    with restarted.app_context():
        deliver_pending(taking_over=shop.mailbox_id)
    [later] = [event for event in delivered("received") if event.payload["message_id"] == "<later@example.test>"]
    differing = ("uid", "message_id", "internal_date", "size", "modseq")
    assert later.payload["date"] is None and at_once.payload["date"] is None
    assert ({key: value for key, value in later.payload.items() if key not in differing}
            == {key: value for key, value in at_once.payload.items() if key not in differing})
    assert set(later.payload) == set(at_once.payload)


def test_a_reference_is_completed_only_from_its_own_mailbox_and_folder(app, shop):
    """SQLite may give a dropped folder's id to a new folder: a reference names its mailbox,
    folder and UIDVALIDITY too, and a row elsewhere under that id is not taken for its message."""
    from tricoma_mail_plugin.events.received import complete_received
    from tricoma_mail_plugin.events.values import Event
    from tricoma_mail_plugin.models import CachedFolder

    append(shop, "<own-1@example.test>")
    run_sync(app, shop)
    with app.app_context():
        row = cached("<own-1@example.test>")
        folder = db.session.get(CachedFolder, row.folder_id)
        reference = {"folder": folder.name, "uid": row.uid, "cached": [folder.id, folder.uidvalidity]}

        def completed(mailbox_id: int, payload: dict) -> dict:
            [event] = complete_received([Event.of_values(1, "received", mailbox_id, payload, utcnow())])
            return dict(event.payload)

        assert completed(shop.mailbox_id, reference)["message_id"] == "<own-1@example.test>"
        gone = {"folder": folder.name, "uid": row.uid}
        assert completed(shop.mailbox_id + 1000, reference) == gone  # another mailbox's folder id
        assert completed(shop.mailbox_id, {**reference, "folder": "Renamed"}) == {**gone, "folder": "Renamed"}
        assert completed(shop.mailbox_id, {**reference, "cached": [folder.id, folder.uidvalidity + 1]}) == gone


def test_received_is_stored_with_the_cached_message_or_not_at_all(app, shop):
    append(shop, "<r-1@example.test>")
    with app.app_context():
        with commit_of_an_event_fails():
            refresh.run_sync(db.session.get(Mailbox, shop.mailbox_id))
        assert cached("<r-1@example.test>") is None
    assert stored_events(app) == [] and delivered("received") == []

    run_sync(app, shop)
    run_sync(app, shop)
    [received] = delivered("received")
    assert received.payload["message_id"] == "<r-1@example.test>" and received.payload["subject"] == "Anfrage"
    assert [call["summary"].message_id for call in typed_calls("message_received")] == ["<r-1@example.test>"]
    [row] = stored_events(app)
    assert row.delivered_at is not None


def test_a_sync_batch_reaches_messages_received_once_and_message_received_per_message(app, shop):
    for n in range(3):
        append(shop, f"<batch-{n}@example.test>")
    run_sync(app, shop)
    [batch] = typed_calls("messages_received")
    assert batch["folder"] == "INBOX" and batch["mailbox"].id == shop.mailbox_id
    assert [summary.message_id for summary in batch["summaries"]] == [f"<batch-{n}@example.test>" for n in range(3)]
    assert [summary.uid for summary in batch["summaries"]] == sorted(summary.uid for summary in batch["summaries"])
    assert [call["summary"] for call in typed_calls("message_received")] == list(batch["summaries"])
    assert len(delivered("received")) == 3
    assert all(row.delivered_at is not None for row in stored_events(app))


def test_leases_and_delivered_marks_commit_without_waiting_for_the_disk_on_postgresql(app):
    """The events' bookkeeping (a lease, a "delivered" mark) is committed asynchronously on
    PostgreSQL; the change and its event are not."""
    from tricoma_mail_plugin.events.outbox import deliver_recorded, record_events

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("synchronous_commit is PostgreSQL's")
        session = db.session()
        seen = []

        def note(session):
            seen.append(session.connection().exec_driver_sql("SHOW synchronous_commit").scalar())

        sa_event.listen(session, "before_commit", note)
        try:
            recorded = record_events("moved", None, [{"folder": "INBOX", "uids": [1]}])
            session.commit()
            assert deliver_recorded(recorded) == 1
        finally:
            sa_event.remove(session, "before_commit", note)
    assert seen == ["on", "off", "off"]  # the event's own commit, the lease, the mark


# -- flags_changed, moved, deleted -----------------------------------------------------------------


def test_flags_changed_is_stored_with_the_cached_flags_or_not_at_all(app, shop):
    append(shop, "<f-1@example.test>")
    run_sync(app, shop)
    sample_plugin.calls.clear()
    with app.app_context():
        pk, uid = cached("<f-1@example.test>").id, cached("<f-1@example.test>").uid
        with commit_of_an_event_fails():
            message_actions.set_flags(owner(), shop.mailbox_id, [pk], "flag")
        assert cached("<f-1@example.test>").flagged is False
        assert [row.name for row in db.session.scalars(select(MailEvent))] == ["received"]

        message_actions.set_flags(owner(), shop.mailbox_id, [pk], "flag")
        deliver_pending()
        assert cached("<f-1@example.test>").flagged is True
    [changed] = delivered("flags_changed")
    assert changed.mailbox_id == shop.mailbox_id
    assert dict(changed.payload) == {"folder": "INBOX", "uids": (uid,), "message_ids": ("<f-1@example.test>",),
                                     "added": ("\\Flagged",), "removed": ()}


def test_moved_is_stored_when_the_move_is_finished_even_by_the_recovery(app, shop):
    shop.imap.create_folder("Archiv")
    append(shop, "<m-1@example.test>")
    run_sync(app, shop)
    sample_plugin.calls.clear()
    with app.app_context():
        pk, uid = cached("<m-1@example.test>").id, cached("<m-1@example.test>").uid
        # The server moved the message, but the commit that finishes the move fails.
        with commit_of_an_event_fails():
            message_actions.move(owner(), shop.mailbox_id, [pk], "Archiv")
        [intent] = db.session.scalars(select(MailIntent))
        assert intent.state == "pending" and cached("<m-1@example.test>") is not None
    assert [row.name for row in stored_events(app)] == ["received"]

    run_sync(app, shop)  # finishes the pending move, and records its event then
    run_sync(app, shop)
    [moved] = delivered("moved")
    assert dict(moved.payload) == {"folder": "INBOX", "target": "Archiv", "uids": (uid,),
                                   "message_ids": ("<m-1@example.test>",)}
    with app.app_context():
        assert db.session.scalar(select(MailIntent.state)) == "done"


def test_deleted_is_stored_for_a_move_to_trash_and_for_a_permanent_delete(app, shop):
    append(shop, "<d-1@example.test>")
    run_sync(app, shop)
    sample_plugin.calls.clear()
    with app.app_context():
        pk = cached("<d-1@example.test>").id
        with commit_of_an_event_fails():
            message_actions.delete(owner(), shop.mailbox_id, [pk])
        assert db.session.scalar(select(MailIntent.state)) == "pending"

        refresh.run_sync(db.session.get(Mailbox, shop.mailbox_id))  # finishes the move to Trash
        [to_trash] = delivered("deleted")
        assert to_trash.payload["permanent"] is False and to_trash.payload["folder"] == "INBOX"
        assert to_trash.payload["message_ids"] == ("<d-1@example.test>",)
        trash = to_trash.payload["trash"]

        in_trash = cached("<d-1@example.test>")
        message_actions.delete_permanently(owner(), shop.mailbox_id, [in_trash.id])
        deliver_pending()
    assert [e.payload["permanent"] for e in delivered("deleted")] == [False, True]
    gone = delivered("deleted")[1]
    assert gone.payload["folder"] == trash and gone.payload["message_ids"] == ("<d-1@example.test>",)
    assert all(row.delivered_at is not None for row in stored_events(app))


# -- sent, failed, uncertain -----------------------------------------------------------------------


def enqueue(app, shop: Shop, subject: str, reference: Reference | None = None) -> int:
    with app.app_context():
        item = outbox.enqueue(db.session.get(Mailbox, shop.mailbox_id), owner(),
                              OutgoingMessage(to=(shop.email,), subject=subject, text="Anbei."),
                              reference=reference)
        return item.id


def test_sent_is_stored_with_smtp_accepted_or_not_at_all_and_uncertain_follows(app, shop):
    first = enqueue(app, shop, "Erste")
    with app.app_context():
        with commit_of_an_event_fails():  # the server accepted, "SMTP accepted" is not committed
            outbox.run_once()
        assert db.session.get(OutboxItem, first).state == "sending"
        assert db.session.scalars(select(MailEvent)).all() == []
        # The worker is gone; its lease runs out, so the mail's fate is unknown.
        db.session.get(OutboxItem, first).lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()

    second = enqueue(app, shop, "Zweite", Reference("sample", "7"))
    with app.app_context():
        outbox.run_once()
        outbox.run_once()
        accepted_at = db.session.get(OutboxItem, second).smtp_accepted_at
    [uncertain] = delivered("uncertain")
    assert uncertain.payload["outbox_id"] == first and uncertain.payload["subject"] == "Erste"
    assert "stopped" in uncertain.payload["error"]
    [sent] = delivered("sent")
    assert sent.payload["outbox_id"] == second and sent.payload["reference"] == "sample:7"
    [typed] = typed_calls("message_sent")
    assert isinstance(typed["outbox_item"], SentMail) and typed["reference"] == Reference("sample", "7")
    assert typed["outbox_item"].id == second and typed["outbox_item"].smtp_accepted_at == accepted_at
    assert all(row.delivered_at is not None for row in stored_events(app))


def test_failed_is_stored_with_the_failure_and_delivered_once(app, shop):
    app.config["TRICOMA_MAIL_SEND_MAX_ATTEMPTS"] = 1
    with app.app_context():
        db.session.get(Mailbox, shop.mailbox_id).smtp_port = 1  # nothing listens there
        db.session.commit()
    item_id = enqueue(app, shop, "Scheitert")
    with app.app_context():
        with commit_of_an_event_fails():
            outbox.run_once()
        assert db.session.get(OutboxItem, item_id).state == "sending"
        db.session.get(OutboxItem, item_id).state = "queued"  # as if the worker had not run
        db.session.commit()
        outbox.run_once()
        outbox.run_once()
        assert db.session.get(OutboxItem, item_id).state == "failed"
    [failed] = delivered("failed")
    assert failed.payload["outbox_id"] == item_id and failed.payload["error"]
    assert typed_calls("message_sent") == []
    assert [row.name for row in stored_events(app)] == ["failed"]


# -- delivery ----------------------------------------------------------------------------------------


@pytest.fixture
def app_with_event_writer(make_app):
    """An app with ``event_writer_plugin`` registered, for this one test."""
    return make_app(TRICOMA_MAIL_EXTRA_PLUGINS=("sample_plugin", "tricoma_mail_v1_imap", "event_writer_plugin"))


def test_hook_writes_commit_with_the_delivered_mark_once_even_when_a_hook_breaks_the_transaction(
        app_with_event_writer):
    """On PostgreSQL the bad statement aborts the batch's transaction: the batch is delivered
    again one event at a time, so every other event's note is still written exactly once. (On
    SQLite a failed statement leaves the transaction usable, and one pass delivers all.)"""
    with app_with_event_writer.app_context():
        for n, payload in enumerate(({}, {"break": True}, {})):
            record_event("moved", None, {"folder": "INBOX", "n": n, **payload})
        db.session.commit()
        assert deliver_pending() == 3
        assert deliver_pending() == 0
        written = sorted(db.session.scalars(select(notes.c.text)))
        assert all(row.delivered_at is not None for row in db.session.scalars(select(MailEvent)))
        passes = 2 if db.engine.dialect.name == "postgresql" else 1
    assert written == ["event 0", "event 2"]
    assert sorted(e.payload["n"] for e in delivered("moved")) == sorted([0, 1, 2] * passes)
