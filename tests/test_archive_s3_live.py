"""The archive in an S3-compatible object store with object lock, against a real one: SeaweedFS
on 127.0.0.1 (scripts/s3server.py, port offset of the test session's mail stack).

A mail synced with the S3 storage is stored locked and read back by the auditor's export; the
store refuses to delete a locked version or to shorten its lock (the purge run too, until the
lock ends), and a write of the same key only adds a version beside the locked one, which
``archive verify`` names; a failed write (the server stopped) stops the sync.
"""
from __future__ import annotations

import hashlib
import io
import sys
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from app_fixtures import login
from botocore.exceptions import ClientError
from mailstack_fixture import TEST_PORT_OFFSET
from sqlalchemy import select
from test_archive_live import account, archived, cached_pks, incoming, sync  # noqa: F401  (account: a fixture)

from hostapp.extensions import db
from tricoma_mail_plugin.archive.auditors import grant_auditor
from tricoma_mail_plugin.archive.journal import Arrival, archive, content_hash
from tricoma_mail_plugin.archive.retention import retained_until
from tricoma_mail_plugin.archive.s3_storage import ObjectStoreError, S3Storage, lock_end
from tricoma_mail_plugin.archive.storage import archive_storage, compress, decompress
from tricoma_mail_plugin.archive.verify import verify_archive
from tricoma_mail_plugin.errors import MailError
from tricoma_mail_plugin.models import ArchiveEntry, Mailbox
from tricoma_mail_plugin.rights.directory import resolve_principal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from s3server import S3Server  # noqa: E402  (scripts/ is not a package)

BUCKET = "tricoma-archive-test"
SYSTEM = Arrival(None, "system@example.test", "Sent", "out", "outbox")


@pytest.fixture(scope="module")
def s3server(mailstack_lock):
    """A running SeaweedFS of this test session's port offset (held through the mail stack's lock)
    with a bucket made with object lock."""
    server = S3Server(Path(f"/tmp/tricoma-s3server-test-{TEST_PORT_OFFSET}"), TEST_PORT_OFFSET)
    server.destroy()  # what an aborted earlier session left behind
    server.start()
    try:
        assert server.make_bucket(BUCKET)
        yield server
    finally:
        server.destroy()


@pytest.fixture
def s3_app(app, s3server):
    app.config.update(
        TRICOMA_MAIL_ARCHIVE_STORAGE="s3", TRICOMA_MAIL_ARCHIVE_S3_ENDPOINT=s3server.endpoint,
        TRICOMA_MAIL_ARCHIVE_S3_BUCKET=BUCKET, TRICOMA_MAIL_ARCHIVE_S3_REGION=s3server.region,
        TRICOMA_MAIL_ARCHIVE_S3_ACCESS_KEY=s3server.access_key,
        TRICOMA_MAIL_ARCHIVE_S3_SECRET_KEY=s3server.secret_key)
    return app


def mail(tag: str, number: int) -> bytes:
    return incoming(number, tag, f"Rechnung {number} zu Auftrag {tag}.\n" + "Position und Betrag\n" * 30)


def refusal(call) -> str:
    """The error code with which the store refuses ``call`` (which must fail)."""
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def test_a_synced_mail_is_stored_locked_and_the_auditor_exports_it(s3_app, s3server, account, make_user):
    app = s3_app
    mailbox_id, imap, _email = account
    tag = uuid.uuid4().hex[:8]
    imap.multiappend("INBOX", [mail(tag, n) for n in range(3)])
    sync(app, mailbox_id)
    with app.app_context():
        entries = archived(mailbox_id)
        assert len(entries) == 3 and len(cached_pks(mailbox_id)) == 3
        assert isinstance(archive_storage(), S3Storage) and archive_storage().stored_bytes() > 0
        assert verify_archive().ok
        first = next(entry for entry in entries if entry.message_id == f"<in-0-{tag}@example.test>")
        entry_id, sha, archived_at, size = first.id, first.sha256, first.archived_at, first.size
        auditor = make_user("pruefer", language="de")
        grant_auditor(resolve_principal("user", str(auditor.id)), "cli")
        db.session.commit()
    stored = s3server.client().head_object(Bucket=BUCKET, Key=f"{sha}.eml.z")
    assert stored["ObjectLockMode"] == "COMPLIANCE"
    assert stored["ObjectLockRetainUntilDate"] == retained_until(archived_at, 6)
    assert stored["ContentLength"] < size  # compressed

    client = app.test_client()
    assert login(client, "pruefer").status_code == 302
    export = client.post("/mail/archive/export", data={"entry": [str(entry_id)]})
    assert export.status_code == 200 and export.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.data)) as exported:
        eml = exported.read(f"mail/{entry_id:08d}.eml")
        assert exported.read("SHA256SUMS").decode().split() == [sha, f"mail/{entry_id:08d}.eml"]
    assert hashlib.sha256(eml).hexdigest() == sha and f"Auftrag {tag}".encode() in eml


def test_the_store_refuses_to_delete_or_overwrite_a_locked_object_and_verify_names_a_changed_one(
        s3_app, s3server):
    tag = uuid.uuid4().hex[:8]
    raws = [mail(tag, n) for n in range(3)]
    with s3_app.app_context():
        assert archive(SYSTEM, raws) == 3
        db.session.commit()
        assert verify_archive().ok
        second = db.session.scalar(select(ArchiveEntry).where(ArchiveEntry.sha256 == content_hash(raws[1])))
        second_id = second.id
    s3 = s3server.client()  # the bucket owner's own keys
    key = f"{content_hash(raws[1])}.eml.z"
    locked = s3.head_object(Bucket=BUCKET, Key=key)
    version = locked["VersionId"]
    # deleting the version, shortening or dropping its lock: refused
    assert refusal(lambda: s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)) == "AccessDenied"
    assert refusal(lambda: s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version,
                                            BypassGovernanceRetention=True)) == "AccessDenied"
    sooner = datetime.now(UTC) + timedelta(days=1)
    assert refusal(lambda: s3.put_object_retention(Bucket=BUCKET, Key=key, VersionId=version, Retention={
        "Mode": "COMPLIANCE", "RetainUntilDate": sooner})) == "AccessDenied"
    assert refusal(lambda: s3.put_object_retention(Bucket=BUCKET, Key=key, VersionId=version, Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": locked["ObjectLockRetainUntilDate"]})) == "AccessDenied"
    # a write that must not replace anything (as the storage writes): refused
    assert refusal(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x", IfNoneMatch="*")) == "PreconditionFailed"
    with s3_app.app_context(), pytest.raises(ObjectStoreError, match="refused to delete"):
        archive_storage().delete([content_hash(raws[1])])  # a purge run before the lock ends

    # A plain PUT adds a version beside the locked one: the current bytes change, verify names the
    # entry, and the locked original is still there, unchanged.
    forged = raws[1].replace(b"Rechnung 1 ", b"Rechnung 9 ")
    s3.put_object(Bucket=BUCKET, Key=key, Body=compress(forged))
    with s3_app.app_context():
        report = verify_archive()
        assert report.broken.entry_id == second_id and "changed" in report.broken.reason
    original = s3.get_object(Bucket=BUCKET, Key=key, VersionId=version)["Body"].read()
    assert decompress(original) == raws[1] and s3.head_object(
        Bucket=BUCKET, Key=key, VersionId=version)["ObjectLockMode"] == "COMPLIANCE"


def test_the_purge_deletes_every_version_once_the_lock_ends_and_a_second_write_extends_it(s3_app, s3server):
    settings = {"endpoint": s3server.endpoint, "region": s3server.region, "access_key": s3server.access_key,
                "secret_key": s3server.secret_key, "compress": compress, "decompress": decompress}
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    short = S3Storage(BUCKET, lock_until=lambda: ends, **settings)
    raw = mail(uuid.uuid4().hex[:8], 1)
    sha = content_hash(raw)
    short.put({sha: raw})
    s3 = s3server.client()
    s3.put_object(Bucket=BUCKET, Key=short.key(sha), Body=b"a later version")
    with pytest.raises(ObjectStoreError, match="refused to delete"):
        short.delete([sha])
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1.5)
    short.delete([sha])
    assert short.get(sha) is None
    assert not s3.list_object_versions(Bucket=BUCKET, Prefix=short.key(sha)).get("Versions")

    # the same mail archived again later (another mailbox): the lock is extended, never shortened
    first, later = (datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=m) for m in (5, 20))
    other = mail(uuid.uuid4().hex[:8], 2)
    S3Storage(BUCKET, lock_until=lambda: first, **settings).put({content_hash(other): other})
    S3Storage(BUCKET, lock_until=lambda: later, **settings).put({content_hash(other): other})
    S3Storage(BUCKET, lock_until=lambda: first, **settings).put({content_hash(other): other})
    head = s3.head_object(Bucket=BUCKET, Key=S3Storage.key(content_hash(other)))
    assert head["ObjectLockRetainUntilDate"] == later
    assert len(s3.list_object_versions(Bucket=BUCKET, Prefix=S3Storage.key(content_hash(other)))["Versions"]) == 1


def test_the_lock_ends_with_the_default_retention():
    for moment in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
                   datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))):  # still 2026 in UTC
        for years in (1, 6, 10):
            assert lock_end(moment, years) == retained_until(moment, years)


def test_a_bucket_without_object_lock_is_refused(s3server):
    s3server.client().create_bucket(Bucket="tricoma-unlocked-test")
    unlocked = S3Storage("tricoma-unlocked-test", endpoint=s3server.endpoint, region=s3server.region,
                         access_key=s3server.access_key, secret_key=s3server.secret_key,
                         compress=compress, decompress=decompress)
    raw = mail(uuid.uuid4().hex[:8], 1)
    with pytest.raises(ObjectStoreError, match="not made with object lock"):
        unlocked.put({content_hash(raw): raw})
    assert unlocked.get(content_hash(raw)) is None


def test_a_failed_s3_write_stops_the_sync(s3_app, s3server, account):
    app = s3_app
    mailbox_id, imap, _email = account
    imap.append("INBOX", mail(uuid.uuid4().hex[:8], 1))
    s3server.stop()
    try:
        with pytest.raises(MailError):
            sync(app, mailbox_id)
        with app.app_context():
            assert cached_pks(mailbox_id) == [] and archived(mailbox_id) == []
            assert db.session.get(Mailbox, mailbox_id).last_sync_error
    finally:
        s3server.start()
    sync(app, mailbox_id)
    with app.app_context():
        assert len(cached_pks(mailbox_id)) == 1 and len(archived(mailbox_id)) == 1
        assert verify_archive().ok
