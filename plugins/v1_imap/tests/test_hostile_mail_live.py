"""Hostile and broken input against the real server: the MIME torture corpora sync, list and
render; awkward folder names never break or inject a command; a 50 MB message is listed without
loading it whole; a server that drops the connection or answers garbage gives a typed error and
leaves the cache intact."""
import socket
import threading
import tracemalloc

import corpora
import pytest
from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin import MailError
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.cache import refresh, sync
from tricoma_mail_plugin.mailboxes.server_folders import create_folder, validate_folder_name
from tricoma_mail_plugin.mail.message_view import render_message
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox

CORPORA = corpora.CORPORA


def corpus_messages() -> list[bytes]:
    files = []
    for name in ("mime-flanker", "mime-mime4j"):
        folder = CORPORA / name
        if folder.is_dir():
            files.extend(p for p in sorted(folder.rglob("*")) if p.is_file()
                         and p.suffix.lower() not in (".xml", ".md", ".txt", ".py", ".json", ".out"))
    return [path.read_bytes() for path in files]


@pytest.fixture
def account(app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, 1)
    return make_mailbox(1, email, password), imap_client(1, email, password)


def test_every_corpus_message_syncs_lists_and_renders(app, account):
    corpora.require(CORPORA / "mime-flanker")
    corpora.require(CORPORA / "mime-mime4j")
    messages = corpus_messages()
    mailbox_id, other = account
    other.create_folder("Torture")
    appended = 0
    for raw in messages:
        try:
            other.append("Torture", raw)
            appended += 1
        except Exception:  # noqa: BLE001 - the server may refuse a message; ours must cope with the rest
            pass
    assert appended >= len(messages) * 0.9
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend, ["Torture"])
            listed = list(db.session.scalars(select(CachedMessage).join(CachedFolder).where(
                CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "Torture")
                .order_by(CachedMessage.date.desc())))
            assert len(listed) == appended
            for row in listed:
                rendered = render_message(mailbox, row.id, lambda part: f"/part/{part}", backend=backend)
                assert rendered.message is not None
                if rendered.html:
                    assert "<script" not in rendered.html.lower()


@pytest.mark.parametrize("name", ['Quote"d', "Back\\slash", "Grüße & Überweisungen", "日本語", "Prozent%"])
def test_awkward_folder_names_round_trip_or_are_refused(app, account, name):
    mailbox_id, other = account
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            if "%" in name:
                with pytest.raises(MailError):
                    create_folder(backend, name)
                return
            full = create_folder(backend, name)
            backend.append(full, b"Subject: in an awkward folder\r\n\r\nhi\r\n")
            results = sync.sync_mailbox(mailbox, backend, [full])
            assert results[0].new == 1
    assert name in [folder[2] for folder in other.list_folders()]


@pytest.mark.parametrize("name", ["Evil\r\nA1 DELETE INBOX", "Evil\nx", "Tab\there", "*", ""])
def test_folder_names_with_line_breaks_or_wildcards_are_refused(name):
    with pytest.raises(MailError):
        validate_folder_name(name)


@pytest.mark.slow
@pytest.mark.parametrize("journal", [False, True], ids=["no archive", "archive journal"])
def test_a_50_mb_message_is_listed_without_loading_it(app, account, journal):
    """Listing never loads a body; with the archive journal on, sync holds the message's bytes
    once while it journals them (never a second copy)."""
    app.config["TRICOMA_MAIL_ARCHIVE_ENABLED"] = journal
    mailbox_id, other = account
    body = (b"x" * 76 + b"\r\n") * (49 * 1024 * 1024 // 78)
    other.append("INBOX", b"Subject: huge\r\nFrom: big@example.test\r\nContent-Type: text/plain\r\n\r\n" + body)
    del body
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            tracemalloc.start()
            sync.sync_mailbox(mailbox, backend, ["INBOX"])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        row = db.session.scalar(select(CachedMessage).where(CachedMessage.subject == "huge"))
    assert row.size > 48 * 1024 * 1024
    limit = row.size * 1.3 if journal else 20 * 1024 * 1024
    assert peak < limit, f"sync held {peak / 1e6:.1f} MB"


class GarbageServer:
    """An IMAP 'server' on 127.0.0.1 that greets, then answers nonsense or hangs up."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"* OK IMAP4rev1 ready\r\n")
                conn.recv(4096)
                if self.reply:
                    conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("reply", [None, b"\x00\xff garbage {99999999}\r\nzz\r\n"], ids=["hangs-up", "garbage"])
def test_a_broken_server_gives_a_typed_error_and_keeps_the_cache(app, account, reply):
    mailbox_id, other = account
    other.append("INBOX", b"Subject: keep me\r\n\r\nhi\r\n")
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        refresh.run_sync(mailbox)
        before = db.session.query(CachedMessage).count()
        server = GarbageServer(reply)
        try:
            mailbox.imap_port = server.port
            mailbox.imap_security = "none"
            db.session.commit()
            app.config["TRICOMA_MAIL_NETWORK_TIMEOUT"] = 3
            with pytest.raises(MailError):
                refresh.run_sync(mailbox)
        finally:
            server.close()
        assert db.session.query(CachedMessage).count() == before
        assert db.session.get(Mailbox, mailbox_id).last_sync_error
