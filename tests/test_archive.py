"""The GoBD archive without a mail server: the journal and its hash chain, the database's
append-only guard (SQLite and PostgreSQL), ``archive verify`` naming the first broken entry,
storage (database and files, compressed, deduplicated), retention, legal holds and the purge run."""
from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from itertools import pairwise
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hostapp.extensions import db
from tricoma_mail_plugin._state import concurrent_writers
from tricoma_mail_plugin.archive import retention
from tricoma_mail_plugin.archive.arrivals import archive_synced
from tricoma_mail_plugin.archive.guard import guard_lifted
from tricoma_mail_plugin.archive.journal import (
    Arrival,
    archive,
    archive_started,
    content_hash,
    entry_hash,
)
from tricoma_mail_plugin.archive.storage import FileStorage, archive_storage, compress, compress_started, decompress
from tricoma_mail_plugin.archive.verify import verify_archive
from tricoma_mail_plugin.errors import ArchiveWriteFailed
from tricoma_mail_plugin.models import (
    ArchiveBlob,
    ArchiveEntry,
    ArchivePurge,
    RecordLink,
)

INBOX = Arrival(7, "buchhaltung@example.test", "INBOX", "in", "sync")


def mail(number: int, body: str = "Guten Tag") -> bytes:
    message = EmailMessage()
    message["From"] = f"Lieferant {number} <l{number}@example.test>"
    message["To"] = "buchhaltung@example.test"
    message["Subject"] = f"Rechnung {number}"
    message["Message-ID"] = f"<m{number}@example.test>"
    message.set_content(f"{body} {number}\n" + "Positionen und Beträge\n" * 40)
    return message.as_bytes()


def journal(arrival: Arrival, raws: list[bytes]) -> int:
    written = archive(arrival, raws)
    db.session.commit()
    return written


def entries() -> list[ArchiveEntry]:
    return list(db.session.scalars(select(ArchiveEntry).order_by(ArchiveEntry.id)))


def refused(statement: str, **params) -> bool:
    """Whether the database refuses ``statement`` (and nothing of it stays)."""
    try:
        db.session.execute(text(statement), params)
        db.session.commit()
    except DBAPIError as error:
        db.session.rollback()
        return "append-only" in str(error)
    return False


def test_journal_chain_dedup_and_compression(app):
    with app.app_context():
        raws = [mail(n) for n in range(5)]
        assert journal(INBOX, raws[:3]) == 3
        # seen again (a UIDVALIDITY reset, a move to another folder): not archived twice
        assert journal(Arrival(7, "buchhaltung@example.test", "Archiv", "in", "sync"), raws) == 2
        assert journal(INBOX, raws + raws) == 0
        # the same mail in another mailbox is another entry, but its bytes are stored once
        assert journal(Arrival(8, "einkauf@example.test", "INBOX", "in", "sync"), raws[:1]) == 1
        rows = entries()
        assert len(rows) == 6
        assert rows[0].prev_hash == "0" * 64
        assert all(later.prev_hash == earlier.entry_hash for earlier, later in pairwise(rows))
        assert [row.message_id for row in rows[:5]] == [f"<m{n}@example.test>" for n in range(5)]
        assert rows[0].sha256 == content_hash(raws[0]) and rows[0].size == len(raws[0])
        assert db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 5
        stored = db.session.scalar(select(func.sum(func.length(ArchiveBlob.data))))
        assert stored < sum(len(raw) for raw in raws) / 3  # compressed
        report = verify_archive()
        assert report.ok and report.entries == 6 and report.head_hash == rows[-1].entry_hash


def test_bytes_compressed_while_the_caller_writes_are_stored_before_it_commits(app):
    """A sync's batch: the entries are written at once, the bytes (compressed on the pool
    meanwhile) when the caller finishes the write, in the same transaction."""
    with app.app_context():
        raws = [mail(n) for n in range(20)]  # enough for the parallel path
        written, finish = archive_started(INBOX, raws)
        assert written == 20 and len(entries()) == 20
        assert db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 0
        finish()
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 20
        assert archive_storage().get(content_hash(raws[11])) == raws[11]
        assert verify_archive().ok
        # nothing new: nothing to finish, and finishing writes nothing
        written, finish = archive_started(INBOX, raws)
        finish()
        assert written == 0 and db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 20


def test_a_big_mail_is_compressed_in_pieces_and_reads_back_whole():
    big = b"".join(b"Zeile %d einer sehr langen Mail\r\n" % i for i in range(200_000))  # ~6.5 MB
    small = [b"Subject: %d\r\n\r\nkurz\r\n" % i for i in range(20)]
    assert decompress(compress(big)) == big
    assert [decompress(packed) for packed in compress_started(small + [big])()] == small + [big]


def test_new_bytes_are_zstandard_and_bytes_stored_with_zlib_before_are_still_read(app, tmp_path):
    with app.app_context():
        fresh, older = mail(1), mail(2)
        # bytes stored by an earlier version (zlib), found by their hash when the same mail comes again
        db.session.add(ArchiveBlob(sha256=content_hash(older), data=zlib.compress(older, 3), size=len(older)))
        db.session.commit()
        assert journal(INBOX, [fresh, older]) == 2
        assert db.session.get(ArchiveBlob, content_hash(fresh)).data[:4] == b"\x28\xb5\x2f\xfd"  # a Zstandard frame
        assert db.session.get(ArchiveBlob, content_hash(older)).data[:2] == b"\x78\x5e"  # zlib, kept as it was
        storage = archive_storage()
        assert storage.get(content_hash(fresh)) == fresh and storage.get(content_hash(older)) == older
        assert verify_archive().ok

    files = FileStorage(tmp_path)
    files.put({content_hash(fresh): fresh})
    assert files.path(content_hash(fresh)).read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    legacy = files.path(content_hash(older))
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(zlib.compress(older, 3))
    assert files.get(content_hash(fresh)) == fresh and files.get(content_hash(older)) == older


@pytest.mark.parametrize("fields", [
    (7, "buchhaltung@example.test", "INBOX", "in", "sync", "<m1@example.test>", 8123),
    (None, "", "", "out", "outbox", "", 0),
    (1, "ä\"ö\\ü@example.test", "Entwürfe/\u2028😀", "in", "sync", "<\x00\x1f@x>", 1),
    (True, "a", "b", "in", "sync", "c", 2),  # what a changed row could hold: never the cached head of 1
])
def test_the_entry_hash_is_sha256_of_the_previous_hash_and_the_canonical_json(fields):
    """The documented formula (docs/archive.md), which verify and any outside checker recompute."""
    mailbox_id, address, folder, direction, source, message_id, size = fields
    sha, moment = "ab" * 32, datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for _twice in range(2):  # the second time from the shared fields' cache
        canonical = json.dumps(["2026-03-01T12:00:00.123456Z", mailbox_id, address, folder, direction, source,
                                message_id, size, sha], ensure_ascii=False, separators=(",", ":"))
        expected = hashlib.sha256(("0" * 64 + canonical).encode("utf-8")).hexdigest()
        assert entry_hash("0" * 64, moment, mailbox_id, address, folder, direction, source, message_id, size,
                          sha) == expected
    if mailbox_id is True:
        assert entry_hash("0" * 64, moment, 1, address, folder, direction, source, message_id, size, sha) != expected


def test_a_syncs_entries_are_committed_with_its_batch_or_before_it(app, tmp_path):
    """SQLite: in the sync's transaction. PostgreSQL: in a transaction of the journal's own,
    committed while the sync writes its rows; finishing waits for it, so the batch never
    commits without its entries, and a failed journal write fails the batch."""
    mailbox = SimpleNamespace(id=7, email="buchhaltung@example.test", imap_username=None)
    inbox = SimpleNamespace(name="INBOX", special_use=None)
    with app.app_context():
        finish = archive_synced(mailbox, inbox, [mail(1), None, mail(2)])
        finish()
        with db.engine.connect() as other:  # what another connection sees: what is committed
            committed = other.scalar(select(func.count()).select_from(ArchiveEntry))
        assert committed == (2 if concurrent_writers() else 0)
        db.session.commit()
        assert [row.folder for row in entries()] == ["INBOX", "INBOX"] and verify_archive().ok

        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        app.config.update(TRICOMA_MAIL_ARCHIVE_STORAGE="files", TRICOMA_MAIL_ARCHIVE_DIRECTORY=str(blocker))
        with pytest.raises(ArchiveWriteFailed):
            archive_synced(mailbox, inbox, [mail(3)])()
        db.session.rollback()
        assert len(entries()) == 2


def test_the_database_refuses_to_change_or_delete_entries(app):
    with app.app_context():
        journal(INBOX, [mail(1), mail(2)])
        first = entries()[0]
        assert refused("UPDATE tricoma_mail_archive_entry SET message_id = '<forged@x>' WHERE id = :id", id=first.id)
        assert refused("DELETE FROM tricoma_mail_archive_entry WHERE id = :id", id=first.id)
        assert refused("DELETE FROM tricoma_mail_archive_entry")
        assert refused("UPDATE tricoma_mail_archive_blob SET data = :d WHERE sha256 = :s", d=b"x", s=first.sha256)
        assert refused("DELETE FROM tricoma_mail_archive_blob WHERE sha256 = :s", s=first.sha256)
        if db.engine.dialect.name == "postgresql":
            assert refused("TRUNCATE tricoma_mail_archive_entry CASCADE")
        assert len(entries()) == 2 and verify_archive().ok


def _behind_the_databases_back(statement: str, **params) -> None:
    """What only someone who drops the guard (a database superuser) can do."""
    db.session.rollback()  # dropping a trigger waits for every open transaction on the table
    with db.engine.begin() as connection, guard_lifted(connection):
        connection.execute(text(statement), params)


def test_verify_names_the_first_broken_entry(app):
    with app.app_context():
        journal(INBOX, [mail(n) for n in range(4)])
        rows = entries()
        blob = db.session.get(ArchiveBlob, rows[2].sha256)
        data = bytearray(blob.data)
        data[len(data) // 2] ^= 0x01  # one changed byte
        db.session.rollback()
        _behind_the_databases_back("UPDATE tricoma_mail_archive_blob SET data = :d WHERE sha256 = :s",
                                   d=bytes(data), s=rows[2].sha256)
        report = verify_archive()
        assert report.broken.entry_id == rows[2].id and "stored bytes" in report.broken.reason
        assert report.entries == 2
        _behind_the_databases_back("UPDATE tricoma_mail_archive_entry SET folder = 'Papierkorb' WHERE id = :id",
                                   id=rows[1].id)
        report = verify_archive()
        assert report.broken.entry_id == rows[1].id and "fields were changed" in report.broken.reason
        _behind_the_databases_back("DELETE FROM tricoma_mail_archive_entry WHERE id = :id", id=rows[0].id)
        report = verify_archive()
        assert report.broken.entry_id == rows[1].id and "previous entry" in report.broken.reason
        result = app.test_cli_runner().invoke(args=["mail", "archive", "verify"])
        assert result.exit_code == 1 and f"BROKEN at entry {rows[1].id}" in result.output


def test_files_storage_and_a_failed_write(app, tmp_path):
    app.config.update(TRICOMA_MAIL_ARCHIVE_STORAGE="files", TRICOMA_MAIL_ARCHIVE_DIRECTORY=str(tmp_path))
    with app.app_context():
        raws = [mail(n) for n in range(3)]
        journal(INBOX, raws)
        rows = entries()
        path = FileStorage(tmp_path).path(rows[1].sha256)
        assert path.exists() and db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 0
        assert app.test_cli_runner().invoke(args=["mail", "archive", "verify"]).exit_code == 0
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x40
        path.chmod(0o644)
        path.write_bytes(bytes(data))
        report = verify_archive()
        assert report.broken.entry_id == rows[1].id

        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        app.config["TRICOMA_MAIL_ARCHIVE_DIRECTORY"] = str(blocker)
        with pytest.raises(ArchiveWriteFailed):
            archive(INBOX, [mail(99)])
        db.session.rollback()
        assert len(entries()) == 3


def test_retention_holds_and_a_purge_run_that_keeps_the_chain(app):
    with app.app_context():
        plain, invoice, kept = mail(1), mail(2), mail(3)
        journal(INBOX, [plain, invoice])
        journal(Arrival(9, "recht@example.test", "INBOX", "in", "sync"), [kept])
        journal(Arrival(8, "einkauf@example.test", "INBOX", "in", "sync"), [plain])  # same bytes elsewhere
        db.session.add(RecordLink(reference="invoice:42", mailbox_id=7, message_id="<m2@example.test>",
                                  direction="received", subject="Rechnung 2", counterpart="l2@example.test"))
        db.session.commit()
        retention.set_mailbox_retention(8, 8, "cli")
        db.session.commit()
        year = entries()[0].archived_at.year
        seven_years_on = datetime(year + 7, 1, 1, tzinfo=UTC)
        assert retention.purge("cli", "too early", now=seven_years_on - timedelta(days=1)).purged == 0

        hold = retention.place_hold(9, "Betriebsprüfung 2026", "cli")
        db.session.commit()
        result = retention.purge("cli", "yearly run", now=seven_years_on)
        db.session.commit()
        # 6 years: the plain mail of mailbox 7 goes; mailbox 8 keeps 8 years, the invoice 10, mailbox 9 is held
        assert (result.purged, result.held) == (1, 1)
        purged = db.session.scalars(select(ArchivePurge.entry_id)).all()
        assert purged == [entries()[0].id]
        assert db.session.get(ArchiveBlob, content_hash(plain)) is not None  # mailbox 8 still needs it
        report = verify_archive()
        assert report.ok and report.purged == 1 and report.entries == 4

        retention.release_hold(hold.id, "cli")
        db.session.commit()
        ten_years_on = datetime(year + 11, 1, 1, tzinfo=UTC)
        assert retention.purge("cli", "ten years", now=ten_years_on).purged == 3
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ArchiveBlob)) == 0
        assert len(entries()) == 4 and verify_archive().ok
        # the purge records are append-only too
        assert refused("DELETE FROM tricoma_mail_archive_purge")
        assert refused("DELETE FROM tricoma_mail_archive_purge_run")


def test_the_archive_commands(app, make_user, tmp_path):
    runner = app.test_cli_runner()
    make_user("pruefer")
    with app.app_context():
        journal(INBOX, [mail(1, "Skontoabzug"), mail(2)])
    def run(*args):
        result = runner.invoke(args=["mail", "archive", *args])
        assert result.exit_code == 0, result.output
        return result.output
    assert "2 entries, " in run("stats")
    assert "2 entries indexed" in run("index")
    placed = run("hold", "--reason", "Betriebsprüfung", "--mailbox", "7")
    hold_id = placed.split()[2]
    assert placed == f"legal hold {hold_id} placed\n"
    assert "Betriebsprüfung" in run("holds")
    assert "8 years" in run("retention", "7", "8")
    assert "would purge 0 entries" in run("purge", "--reason", "yearly")
    assert "grant user pruefer: done" in run("auditor", "grant", "user:pruefer")
    assert run("auditor", "list").startswith("user:")
    target = tmp_path / "export.zip"
    assert "1 mails written" in run("export", str(target), "--text", "skontoabzug")
    with app.app_context():
        first = entries()[0].id
    with zipfile.ZipFile(target) as exported:
        assert sorted(exported.namelist()) == ["SHA256SUMS", "index.csv", f"mail/{first:08d}.eml"]
    assert "released" in run("release", hold_id)
    assert runner.invoke(args=["mail", "archive", "release", hold_id]).exit_code != 0
