"""Sync correctness against the real local Dovecot, both profiles: the cache equals the server
after additions, expunges and flag changes by a second client, a UIDVALIDITY change, and a
connection killed in the middle of a sync."""
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from hostapp.extensions import db
from tricoma_mail_plugin import MailboxConnectionError
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox


def message(number: int, subject: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Sender {number} <sender{number}@example.test>"
    mail["To"] = "owner@example.test"
    mail["Subject"] = subject or f"Message {number} – Grüße"
    mail["Message-ID"] = f"<m{number}@example.test>"
    mail["Date"] = "Tue, 01 Dec 2026 10:00:00 +0100"
    mail.set_content(f"Body of message {number}\n")
    return mail.as_bytes()


@pytest.fixture(params=[1, 2], ids=["standard", "hoster"])
def account(request, app, make_mailbox, mailstack, imap_client):
    """(mailbox id, a second IMAP client on the same account, the profile)."""
    profile = mailstack.profile(request.param)
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, request.param)
    mailbox_id = make_mailbox(request.param, email, password)
    other = imap_client(request.param, email, password)
    return mailbox_id, other, profile


def run_sync(app, mailbox_id, folders=None, backend_hook=None):
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            if backend_hook:
                backend_hook(backend)
            return sync.sync_mailbox(mailbox, backend, folders)


def cache_state(app, mailbox_id, folder):
    with app.app_context():
        rows = db.session.execute(
            select(CachedMessage.uid, CachedMessage.flags)
            .join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == folder)
        ).all()
    return {uid: frozenset(flags.split()) for uid, flags in rows}


def server_state(client, folder):
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    if not uids:
        return {}
    return {uid: frozenset(f.decode() for f in data[b"FLAGS"] if f != b"\\Recent")
            for uid, data in client.fetch(uids, ["FLAGS"]).items()}


def test_initial_sync_then_changes_by_a_second_client(app, account):
    mailbox_id, other, profile = account
    for number in range(30):
        other.append("INBOX", message(number), flags=[b"\\Seen"] if number % 3 == 0 else [])
    results = run_sync(app, mailbox_id)
    inbox = next(r for r in results if r.folder == "INBOX")
    assert inbox.new == 30
    assert cache_state(app, mailbox_id, "INBOX") == server_state(other, "INBOX")
    with app.app_context():
        folder_names = {f.name for f in sync.cached_folders(db.session.get(Mailbox, mailbox_id))}
    assert {profile.sent_folder, profile.trash_folder} <= folder_names

    # a second client adds 5, expunges 5 and re-flags 10
    other.select_folder("INBOX")
    uids = sorted(other.search(["ALL"]))
    other.add_flags(uids[:10], [b"\\Flagged"])
    other.remove_flags(uids[:3], [b"\\Seen"])
    other.add_flags(uids[-5:], [b"\\Deleted"])
    other.uid_expunge(uids[-5:])
    for number in range(100, 105):
        other.append("INBOX", message(number))
    run_sync(app, mailbox_id, ["INBOX"])
    assert cache_state(app, mailbox_id, "INBOX") == server_state(other, "INBOX")

    unchanged = run_sync(app, mailbox_id, ["INBOX"])
    assert unchanged[0].unchanged


def test_uidvalidity_change_rebuilds_the_folder(app, account):
    mailbox_id, other, profile = account
    folder = profile.prefix + "Projekt"
    other.create_folder(folder)
    for number in range(5):
        other.append(folder, message(number))
    run_sync(app, mailbox_id, [folder])
    assert len(cache_state(app, mailbox_id, folder)) == 5
    other.delete_folder(folder)
    other.create_folder(folder)
    for number in range(10, 12):
        other.append(folder, message(number))
    results = run_sync(app, mailbox_id, [folder])
    assert results[0].rebuilt
    assert cache_state(app, mailbox_id, folder) == server_state(other, folder)
    assert len(cache_state(app, mailbox_id, folder)) == 2


def test_connection_killed_mid_sync_converges_without_duplicates(app, account, monkeypatch):
    mailbox_id, other, profile = account
    other.multiappend("INBOX", [message(n) for n in range(1200)])
    monkeypatch.setattr(sync, "BATCH_SIZE", 200)

    def kill_after_first_batch(backend):
        original = backend.fetch_summary_batches

        def fetch(uids, batch_size, with_bytes=False):
            for number, batch in enumerate(original(uids, batch_size, with_bytes)):
                yield batch
                if number == 0:
                    backend.client._imap.sock.shutdown(2)  # the network goes away mid-sync

        backend.fetch_summary_batches = fetch

    with pytest.raises(MailboxConnectionError):
        run_sync(app, mailbox_id, ["INBOX"], kill_after_first_batch)
    partial = cache_state(app, mailbox_id, "INBOX")
    assert 0 < len(partial) < 1200
    run_sync(app, mailbox_id, ["INBOX"])
    assert cache_state(app, mailbox_id, "INBOX") == server_state(other, "INBOX")
    with app.app_context():
        duplicates = db.session.execute(
            select(CachedMessage.uid, func.count()).group_by(CachedMessage.folder_id, CachedMessage.uid)
            .having(func.count() > 1)).all()
    assert duplicates == []


def test_summaries_hold_the_envelope(app, account):
    mailbox_id, other, _ = account
    other.append("INBOX", message(7, "=?utf-8?q?Rechnung_f=C3=BCr_M=C3=A4rz?="))
    run_sync(app, mailbox_id, ["INBOX"])
    with app.app_context():
        row = db.session.scalar(select(CachedMessage).join(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "INBOX"))
        assert row.subject == "Rechnung für März"
        assert row.from_ == "Sender 7 <sender7@example.test>"
        assert row.message_id == "<m7@example.test>"
        assert row.date.year == 2026 and row.size > 0 and not row.seen
        assert "Body of message 7" in row.preview
