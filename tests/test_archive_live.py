"""The GoBD archive against the real local stack: every mail received by sync and sent by the
outbox is archived once (also mail deleted and Trash emptied right after, and mail seen again
after a UIDVALIDITY reset), a failed journal write stops the sync or the send, and the auditor
finds a deleted mail by a word of its body and exports it with a matching hash manifest.

The issue counts 500 mails in and 200 out; here 60 in (plus 5 in a folder that is reset) and 20
out keep the suite fast. bench/archive_bench.py runs 10,000 in (initial sync) and 200 out.
"""
from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from collections import Counter
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account, login
from sqlalchemy import select

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.archive.auditors import grant_auditor
from tricoma_mail_plugin.archive.verify import verify_archive
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.errors import MailError
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.mime.build import OutgoingMessage
from tricoma_mail_plugin.models import (
    ArchiveEntry,
    CachedFolder,
    CachedMessage,
    Mailbox,
    OutboxItem,
    utcnow,
)
from tricoma_mail_plugin.rights.directory import resolve_principal
from tricoma_mail_plugin.sending import outbox

IN, OUT = 60, 20


def incoming(number: int, tag: str, body: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = f"Lieferant {number} <lieferant{number}@example.test>"
    message["To"] = "buchhaltung@example.test"
    message["Subject"] = f"Angebot {number}"
    message["Message-ID"] = f"<in-{number}-{tag}@example.test>"
    message.set_content(body or f"Guten Tag, anbei das Angebot Nummer {number}.\n")
    return message.as_bytes()


@pytest.fixture
def account(app, make_mailbox, mailstack, imap_client):
    """(mailbox id, IMAP client of its account, its address) of a tested mailbox."""
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
    return mailbox_id, imap_client(1, email, password), email


def sync(app, mailbox_id):
    with app.app_context():
        return {result.folder: result for result in refresh.run_sync(db.session.get(Mailbox, mailbox_id))}


def owner():
    return db.session.scalar(select(User).where(User.username == "owner"))


def cached_pks(mailbox_id, folder="INBOX"):
    return list(db.session.scalars(select(CachedMessage.id).join(CachedFolder).where(
        CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == folder).order_by(CachedMessage.uid)))


def delete_and_empty_trash(imap, count, mailstack):
    """Move the first ``count`` mails of INBOX to Trash and empty Trash."""
    trash = mailstack.profile(1).trash_folder
    imap.select_folder("INBOX")
    imap.move(sorted(imap.search(["ALL"]))[:count], trash)
    imap.select_folder(trash)
    imap.delete_messages(imap.search(["ALL"]))
    imap.expunge()
    imap.select_folder("INBOX")


def archived(mailbox_id):
    return list(db.session.scalars(select(ArchiveEntry).where(ArchiveEntry.mailbox_id == mailbox_id)))


def test_every_mail_in_and_out_is_archived_once(app, account, mailstack):
    mailbox_id, imap, email = account
    tag = uuid.uuid4().hex[:8]
    imap.multiappend("INBOX", [incoming(n, tag) for n in range(IN)])
    sync(app, mailbox_id)
    delete_and_empty_trash(imap, 10, mailstack)  # right after arrival, in another mail client
    customer, _password = _fresh_account(mailstack, 1)
    with app.app_context():
        for number in range(OUT):
            outbox.enqueue(db.session.get(Mailbox, mailbox_id), owner(), OutgoingMessage(
                to=(customer,), subject=f"Rechnung {number}", text="Anbei die Rechnung.\n"))
        assert outbox.run_once() == OUT
        assert {item.state for item in db.session.scalars(select(OutboxItem))} == {"sent"}
    # the Sent copies come back through sync: the same bytes, so no second entry
    imap.create_folder("Projekt")
    imap.multiappend("Projekt", [incoming(1000 + n, tag) for n in range(5)])
    first = sync(app, mailbox_id)
    assert first[mailstack.profile(1).sent_folder].new == OUT
    # a UIDVALIDITY reset: the folder is deleted and made again with the same mail
    imap.delete_folder("Projekt")
    imap.create_folder("Projekt")
    imap.multiappend("Projekt", [incoming(1000 + n, tag) for n in range(5)])
    again = sync(app, mailbox_id)
    assert first["Projekt"].new == 5 and again["Projekt"].rebuilt and again["Projekt"].new == 5
    with app.app_context():
        assert len(cached_pks(mailbox_id)) == IN - 10
        entries = archived(mailbox_id)
        by_direction = Counter((entry.direction, entry.source) for entry in entries)
        assert by_direction == {("in", "sync"): IN + 5, ("out", "outbox"): OUT}
        counts = Counter(entry.message_id for entry in entries)
        assert len(counts) == IN + 5 + OUT and set(counts.values()) == {1}
        assert all(entry.mailbox_address == email for entry in entries if entry.direction == "in")
        assert verify_archive().ok


def test_a_failed_journal_write_stops_the_sync_and_the_send(app, account, mailstack, imap_client, tmp_path):
    mailbox_id, imap, _email = account
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    app.config.update(TRICOMA_MAIL_ARCHIVE_STORAGE="files", TRICOMA_MAIL_ARCHIVE_DIRECTORY=str(blocker))
    imap.append("INBOX", incoming(1, uuid.uuid4().hex))
    with pytest.raises(MailError):
        sync(app, mailbox_id)
    to, password = _fresh_account(mailstack, 1)
    with app.app_context():
        assert cached_pks(mailbox_id) == [] and archived(mailbox_id) == []
        assert db.session.get(Mailbox, mailbox_id).last_sync_error
        item = outbox.enqueue(db.session.get(Mailbox, mailbox_id), owner(), OutgoingMessage(
            to=(to,), subject="Rechnung", text="Anbei.\n"))
        outbox.run_once()
        db.session.refresh(item)
        assert item.state == "retry" and item.smtp_accepted_at is None
    recipient = imap_client(1, to, password)
    recipient.select_folder("INBOX", readonly=True)
    assert recipient.search(["ALL"]) == []  # the server never saw it

    app.config["TRICOMA_MAIL_ARCHIVE_DIRECTORY"] = str(tmp_path / "archive")
    with app.app_context():
        item = db.session.get(OutboxItem, item.id)
        item.not_before = utcnow()
        db.session.commit()
        assert outbox.run_once() == 1
    sync(app, mailbox_id)
    with app.app_context():
        assert len(cached_pks(mailbox_id)) == 1
        assert Counter(entry.direction for entry in archived(mailbox_id)) == {"in": 1, "out": 1}
        assert verify_archive().ok


def test_the_auditor_finds_a_deleted_mail_and_exports_it(app, account, make_user, mailstack):
    mailbox_id, imap, _email = account
    tag = uuid.uuid4().hex[:8]
    word = f"Skontoabzug{tag}"
    imap.multiappend("INBOX", [incoming(1, tag, f"Bitte beachten Sie den {word} bis Freitag.\n"),
                               incoming(2, tag)])
    sync(app, mailbox_id)
    delete_and_empty_trash(imap, 1, mailstack)
    with app.app_context():
        auditor = make_user("pruefer", language="de")
        grant_auditor(resolve_principal("user", str(auditor.id)), "cli")
        db.session.commit()
    sync(app, mailbox_id)
    client = app.test_client()
    assert login(client, "pruefer").status_code == 302
    page = client.get("/mail/archive/", query_string={"q": word.lower()})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Angebot 1" in body and "Angebot 2" not in body
    with app.app_context():
        entry = db.session.scalar(select(ArchiveEntry).where(ArchiveEntry.message_id == f"<in-1-{tag}@example.test>"))
        entry_id, sha = entry.id, entry.sha256
    export = client.post("/mail/archive/export", data={"entry": [str(entry_id)]})
    assert export.status_code == 200 and export.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.data)) as exported:
        manifest = dict(reversed(line.split("  ", 1)) for line in exported.read("SHA256SUMS").decode().splitlines())
        index = list(csv.DictReader(io.StringIO(exported.read("index.csv").decode())))
        eml = exported.read(f"mail/{entry_id:08d}.eml")
    assert manifest == {f"mail/{entry_id:08d}.eml": sha}
    assert hashlib.sha256(eml).hexdigest() == sha and word.encode() in eml
    assert index[0]["sha256"] == sha and index[0]["subject"] == "Angebot 1"
    # the role gives nothing else: no mailbox, no sending
    assert client.get(f"/mail/m/{mailbox_id}/").status_code == 404
    assert client.get(f"/mail/m/{mailbox_id}/compose").status_code == 404
    # and nobody else may search the archive, not even the mailbox's owner or an admin
    make_user("chefin", admin=True, language="de")
    for name in ("owner", "chefin"):
        other = app.test_client()
        assert login(other, name).status_code == 302
        assert other.get("/mail/archive/", query_string={"q": word}).status_code == 403
        assert other.post("/mail/archive/export", data={"entry": [str(entry_id)]}).status_code == 403
