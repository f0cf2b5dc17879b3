"""State that every web process on every host shares, because it lives in the database or in
Redis and not on one host's disk, in a cookie or in one process: uploads of a mail being written,
the senders a user trusts with remote images, and (with a broker) the short memory of rendered
messages. Two app instances on one database stand for two web processes."""
from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import update

from hostapp.extensions import db
from tricoma_mail_plugin.mail import trusted_senders, upload_store
from tricoma_mail_plugin.models import StoredUpload, utcnow
from tricoma_mail_plugin.web import render_cache

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_an_upload_made_in_one_process_is_found_by_another_and_old_ones_go(make_app):
    first, second = make_app(), make_app()
    space = upload_store.new_space()
    with first.app_context():
        stored = upload_store.save(space, "Angebot ü.pdf", "application/pdf", io.BytesIO(b"%PDF-1.4 x" * 100),
                                   limit=10_000)
    with second.app_context():
        assert upload_store.describe(space, stored.token) == stored
        assert upload_store.load(space, stored.token).data == b"%PDF-1.4 x" * 100
        assert upload_store.total_size(space, [stored.token, "unknown-token-123456"]) == 1000
        assert upload_store.describe(upload_store.new_space(), stored.token) is None  # another session's
        with pytest.raises(upload_store.UploadTooLarge):
            upload_store.save(space, "big.bin", "", io.BytesIO(b"x" * 5000), limit=5000, used=1000)
    with first.app_context():
        fresh = upload_store.save(space, "neu.txt", "text/plain", io.BytesIO(b"neu"), limit=100)
        db.session.execute(update(StoredUpload).where(StoredUpload.token == stored.token)
                           .values(created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        assert upload_store.remove_stale() == 1
    with second.app_context():
        assert upload_store.describe(space, stored.token) is None
        assert upload_store.describe(space, fresh.token) is not None
        upload_store.discard(space, [fresh.token])
        assert upload_store.describe(space, fresh.token) is None


def test_trusted_senders_are_kept_per_user_in_the_database(make_app):
    first, second = make_app(), make_app()
    with first.app_context():
        trusted_senders.set_trusted("7", "Newsletter@Example.TEST", True)
        trusted_senders.set_trusted("7", "newsletter@example.test", True)  # once only
    with second.app_context():  # another process, another browser of the same user
        assert trusted_senders.is_trusted("7", "newsletter@example.test")
        assert trusted_senders.trusted_senders("7") == ["newsletter@example.test"]
        assert not trusted_senders.is_trusted("8", "newsletter@example.test")  # not another user's
        assert not trusted_senders.is_trusted("7", None)
        trusted_senders.set_trusted("7", "newsletter@example.test", False)
    with first.app_context():
        assert not trusted_senders.is_trusted("7", "newsletter@example.test")


def test_the_render_memory_is_shared_through_redis_with_a_broker_and_per_process_without(make_app):
    prefix = f"tricoma-test-{uuid.uuid4().hex[:8]}"
    first = make_app(TRICOMA_MAIL_REDIS_URL=REDIS_URL, TRICOMA_MAIL_QUEUE_PREFIX=prefix)
    second = make_app(TRICOMA_MAIL_REDIS_URL=REDIS_URL, TRICOMA_MAIL_QUEUE_PREFIX=prefix)
    parts = ("user 1", 5, 42, "message id")
    try:
        with first.app_context():
            render_cache.put(parts, ({"html": "<p>Hallo</p>"}, False))
        with second.app_context():
            assert render_cache.get(parts) == ({"html": "<p>Hallo</p>"}, False)
            assert render_cache.get(("user 2", 5, 42, "message id")) is None
            render_cache.put(("big",), b"x" * (render_cache.SHARED_MAX_BYTES + 1))
            assert render_cache.get(("big",)) is None  # too large to share: rendered again
    finally:
        connection = Redis.from_url(REDIS_URL)
        for name in connection.scan_iter(f"{prefix}:*"):
            connection.delete(name)
        connection.close()
    embedded = make_app()
    with embedded.app_context():
        render_cache.put(("local",), "value")
        assert render_cache.get(("local",)) == "value"
