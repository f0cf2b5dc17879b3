"""The journal's CPU in a sync (issue 16): a mail's SHA-256 is computed without letting go of
the interpreter lock (getting it back behind the sync's parsing thread cost ten times the
hashing), and the database storage stores a batch's bytes without asking first which are
stored (the insert skips them)."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from hostapp.extensions import db
from tricoma_mail_plugin.archive import journal
from tricoma_mail_plugin.archive.journal import Arrival, archive, content_hash
from tricoma_mail_plugin.models import ArchiveBlob, ArchiveEntry

INBOX = Arrival(7, "buchhaltung@example.test", "INBOX", "in", "sync")


@pytest.mark.parametrize("size", [0, 1, 2046, 2047, 2048, 4094, 4095, 8_644, 256 * 1024, 256 * 1024 + 1, 3_000_000])
def test_content_hash_is_the_sha256_of_the_bytes(size):
    raw = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert content_hash(raw) == hashlib.sha256(raw).hexdigest()


def test_a_mail_up_to_256_kb_is_hashed_without_letting_go_of_the_interpreter_lock(monkeypatch):
    """hashlib lets go of the lock for an input of 2048 bytes or more (HASHLIB_GIL_MINSIZE), and
    a hash object that saw one such input lets go for every later one: a mail up to 256 KB must
    reach it only in smaller pieces; a bigger one in one piece (the lock let go once)."""
    seen: list[int] = []

    class Recorded:
        def __init__(self, data: bytes = b"") -> None:
            self._hash = hashlib.sha256()
            if data:
                self.update(data)

        def update(self, data) -> None:
            seen.append(len(data))
            self._hash.update(data)

        def hexdigest(self) -> str:
            return self._hash.hexdigest()

    monkeypatch.setattr(journal, "hashlib", SimpleNamespace(sha256=Recorded))
    typical = b"Subject: Rechnung\r\n\r\n" + b"Positionen und Betraege\r\n" * 350  # ~8.6 KB
    for raw in (typical, typical * 30):  # 8.6 KB, 258 KB
        seen.clear()
        assert content_hash(raw) == hashlib.sha256(raw).hexdigest()
        assert sum(seen) == len(raw)
        assert max(seen) < 2048 if len(raw) <= 256 * 1024 else seen == [len(raw)]


def test_the_database_storage_stores_a_batch_without_asking_which_bytes_it_has(app):
    """One query fewer per batch; bytes stored for another mailbox are kept as they are."""
    with app.app_context():
        shared = b"Message-ID: <geteilt@example.test>\r\nSubject: beide\r\n\r\nGuten Tag\r\n" * 20
        assert archive(Arrival(8, "einkauf@example.test", "INBOX", "in", "sync"), [shared]) == 1
        db.session.commit()
        stored_before = db.session.scalar(select(ArchiveBlob.data).where(ArchiveBlob.sha256 == content_hash(shared)))
        raws = [shared] + [b"Message-ID: <m%d@example.test>\r\n\r\nRechnung %d\r\n" % (n, n) * 30 for n in range(12)]
        asked: list[str] = []

        def record(_connection, _cursor, statement, *_args) -> None:
            if statement.lstrip().upper().startswith("SELECT") and ArchiveBlob.__tablename__ in statement:
                asked.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert archive(INBOX, raws) == 13
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert asked == []
        assert db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 13
        assert db.session.scalar(select(ArchiveBlob.data).where(ArchiveBlob.sha256 == content_hash(shared))) \
            == stored_before
        assert db.session.scalar(select(func.count()).select_from(ArchiveEntry)) == 14
