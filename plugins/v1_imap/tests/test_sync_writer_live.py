"""An initial sync of many batches stores them in a writer thread of its own while the sync's
thread reads and parses the next (issue 14), against the real local Dovecot: every message is
cached, journaled and announced once, batches commit in order with their checkpoint, and an
error in the writer (a failed journal write) stops the sync there and is raised to its caller;
the next sync goes on from the last committed batch without duplicates."""
import gc
import threading
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account
from sqlalchemy import func, select

from hostapp.extensions import db
from tricoma_mail_plugin.archive.verify import verify_archive
from tricoma_mail_plugin.cache import collection_pause, sync
from tricoma_mail_plugin.errors import ArchiveWriteFailed
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import ArchiveEntry, CachedFolder, CachedMessage, Mailbox, MailEvent

pytestmark = pytest.mark.live

COUNT = 120
BATCH = 20


def message(number: int, tag: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Lieferant {number} <lieferant{number}@example.test>"
    mail["To"] = "owner@example.test"
    mail["Subject"] = f"Rechnung {number}"
    mail["Message-ID"] = f"<writer-{tag}-{number}@example.test>"
    mail.set_content(f"Rechnung {number} {tag}\n")
    return mail.as_bytes()


@pytest.fixture
def filled(app, make_mailbox, mailstack, imap_client, monkeypatch):
    """A mailbox whose INBOX holds COUNT messages; batches of BATCH, stored by the writer."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    imap_client(1, email, password).multiappend("INBOX", [message(n, email) for n in range(COUNT)])
    monkeypatch.setattr(sync, "BATCH_SIZE", BATCH)
    monkeypatch.setattr(sync, "WRITER_FROM", BATCH + 1)
    monkeypatch.setitem(app.config, "TRICOMA_MAIL_ARCHIVE_ENABLED", True)
    return mailbox_id


def run(app, mailbox_id, progress=None):
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            [result] = sync.sync_mailbox(mailbox, backend, ["INBOX"], progress)
        folder = db.session.scalar(select(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "INBOX"))
        return result, folder.messages, folder.uidnext


def counts(mailbox_id):
    cached = db.session.scalar(select(func.count(CachedMessage.id)).join(CachedFolder).where(
        CachedFolder.mailbox_id == mailbox_id))
    events = list(db.session.scalars(select(MailEvent).where(MailEvent.mailbox_id == mailbox_id)))
    entries = db.session.scalar(select(func.count(ArchiveEntry.id)).where(ArchiveEntry.mailbox_id == mailbox_id))
    return cached, events, entries


def test_batches_are_stored_by_a_writer_thread_once_and_in_order(app, filled, monkeypatch):
    mailbox_id = filled
    writers, steps = set(), []
    store = sync.store_new_messages

    def recording_store(mailbox, folder, batch, events_owner=None):
        writers.add(threading.current_thread().name)
        store(mailbox, folder, batch, events_owner)

    monkeypatch.setattr(sync, "store_new_messages", recording_store)
    result, messages, uidnext = run(app, mailbox_id, lambda folder, done, total: steps.append((done, total)))
    assert result.new == COUNT and messages == COUNT
    assert writers and all(name.startswith("tricoma-sync-store") for name in writers)
    assert steps[0] == (0, COUNT) and steps[-1] == (COUNT, COUNT)
    assert [done for done, _total in steps] == sorted(done for done, _total in steps)
    with app.app_context():
        cached, events, entries = counts(mailbox_id)
        assert cached == COUNT and entries == COUNT
        assert len(events) == COUNT and all(e.delivered_at is not None and e.lease_owner is None for e in events)
        assert uidnext == max(db.session.scalars(select(CachedMessage.uid).join(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id))) + 1
        assert verify_archive().ok


def test_a_failed_journal_write_in_the_writer_stops_the_sync_at_the_last_committed_batch(app, filled, monkeypatch):
    mailbox_id = filled
    calls = []
    archive_synced = sync.archive_synced

    def failing_third_time(mailbox, folder, raws):
        calls.append(len(raws))
        if len(calls) == 3:
            raise ArchiveWriteFailed(detail="storage refused (test)")
        return archive_synced(mailbox, folder, raws)

    monkeypatch.setattr(sync, "archive_synced", failing_third_time)
    with pytest.raises(ArchiveWriteFailed):
        run(app, mailbox_id)
    with app.app_context():
        cached, events, entries = counts(mailbox_id)
        assert cached == entries == len(events) == 2 * BATCH  # two batches committed, the third not
        folder = db.session.scalar(select(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "INBOX"))
        assert folder.messages == 2 * BATCH and folder.uidnext == max(db.session.scalars(
            select(CachedMessage.uid).join(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id))) + 1
    monkeypatch.setattr(sync, "archive_synced", archive_synced)
    result, messages, _uidnext = run(app, mailbox_id)
    assert result.new == COUNT - 2 * BATCH and messages == COUNT
    with app.app_context():
        cached, events, entries = counts(mailbox_id)
        assert cached == entries == len(events) == COUNT
        assert len({e.payload["uid"] for e in events}) == COUNT  # one received event per message
        assert verify_archive().ok


def test_events_are_delivered_in_order_beside_the_writer_where_the_database_writes_concurrently(
        app, filled, monkeypatch):
    """On PostgreSQL a thread of their own delivers each committed batch's events while the
    writer stores the next; on SQLite (one write lock) the writer delivers them itself."""
    mailbox_id = filled
    deliveries = []
    deliver = sync.deliver_recorded

    def recording(recorded, received):
        deliveries.append((threading.current_thread().name, [summary.uid for summary in received]))
        return deliver(recorded, received)

    monkeypatch.setattr(sync, "deliver_recorded", recording)
    result, _messages, _uidnext = run(app, mailbox_id)
    assert result.new == COUNT
    with app.app_context():
        aside = db.engine.dialect.name != "sqlite"
        _cached, events, _entries = counts(mailbox_id)
        assert len(events) == COUNT and all(e.delivered_at is not None and e.lease_owner is None for e in events)
    expected = "tricoma-sync-deliver" if aside else "tricoma-sync-store"
    assert len(deliveries) == COUNT // BATCH and all(name.startswith(expected) for name, _uids in deliveries)
    uids = [uid for _name, batch in deliveries for uid in batch]
    assert len(uids) == COUNT and uids == sorted(uids)


def test_a_failed_delivery_is_raised_to_the_sync_and_its_events_stay_pending(app, filled, monkeypatch):
    mailbox_id = filled
    deliver = sync.deliver_recorded
    calls = []

    def failing_second_time(recorded, received):
        calls.append(len(received))
        if len(calls) == 2:
            raise RuntimeError("delivery failed (test)")
        return deliver(recorded, received)

    monkeypatch.setattr(sync, "deliver_recorded", failing_second_time)
    with pytest.raises(RuntimeError, match="delivery failed"):
        run(app, mailbox_id)
    with app.app_context():
        cached, events, _entries = counts(mailbox_id)
        assert cached == len(events) >= 2 * BATCH  # what was committed keeps its events
        assert sum(e.delivered_at is None for e in events) >= BATCH  # the failed batch's, at least


def test_no_automatic_garbage_collection_while_the_batches_are_stored(app, filled, monkeypatch):
    """The collector is paused for the batches (cache/collection_pause.py): an automatic
    collection of the process's whole heap cost a quarter of an initial sync of 10,000 messages
    (issue 14). The two younger generations are still collected after a batch when
    YOUNG_COLLECTION_SECONDS have passed (here: after every batch), and the collector runs again
    once the sync is over."""
    monkeypatch.setattr(collection_pause, "YOUNG_COLLECTION_SECONDS", 0.0)
    enabled_while_storing, collections = [], []
    store = sync.store_new_messages

    def recording_store(mailbox, folder, batch, events_owner=None):
        enabled_while_storing.append(gc.isenabled())
        store(mailbox, folder, batch, events_owner)

    def count_collection(phase, info):
        if phase == "start" and not gc.isenabled():  # the sync's own, during the pause
            collections.append(info["generation"])

    monkeypatch.setattr(sync, "store_new_messages", recording_store)
    assert gc.isenabled()
    gc.callbacks.append(count_collection)
    try:
        result, messages, _uidnext = run(app, mailbox_id=filled)
    finally:
        gc.callbacks.remove(count_collection)
    assert result.new == COUNT and messages == COUNT
    assert enabled_while_storing and not any(enabled_while_storing)
    assert collections == [1] * (COUNT // BATCH)  # the younger generations, after each batch
    assert gc.isenabled()
