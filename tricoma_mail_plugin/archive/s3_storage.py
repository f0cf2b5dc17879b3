"""The archive's bytes in an S3-compatible object store with object lock
(``TRICOMA_MAIL_ARCHIVE_STORAGE = "s3"``, docs/archive.md).

Each distinct mail is one object ``<sha256>.eml.z``, compressed as in the other storages, in a
bucket made with object lock. It is written with a lock (``COMPLIANCE`` by default) until the
end of the shortest retention any archived mail has (``TRICOMA_MAIL_ARCHIVE_RETENTION_YEARS``
after the end of this year): until then the store refuses to delete that version or to shorten
its lock, with any credentials. Longer periods (a mailbox's rule, a linked invoice) and legal
holds are kept by the database, as with the other storages; the lock never outlasts what a purge
run may remove.

Nothing stored is overwritten: a HEAD finds what is there already, and the PUT carries
``If-None-Match: *`` so that the store refuses it when another process stored the same mail in
between. A mail found stored has its lock extended when this write needs a later date (the same
mail archived for a second mailbox years later).

Writes run on a pool of threads while the journal writes its rows, and finish before its
transaction commits. Every failure raises :class:`ObjectStoreError`, an :class:`OSError`, which
the journal turns into ``ArchiveWriteFailed``: the sync or the send stops, as with the other
storages.
"""
from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import current_app

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # the extra "s3" is not installed: S3Storage says so when it is configured
    boto3 = None

from .thread_pools import ProcessPool

LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
SUFFIX = ".eml.z"
# Requests in flight at once: storing a mail is two round trips (HEAD, PUT) mostly spent waiting.
_UPLOADERS = 16
_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 30}

_clients: dict[tuple, object] = {}
_locked_buckets: set[tuple[str | None, str]] = set()
_client_lock = threading.Lock()
_uploaders = ProcessPool(_UPLOADERS, "tricoma-archive-s3")


class ObjectStoreError(OSError):
    """The object store refused a request or could not be reached."""


def lock_end(now: datetime, years: int) -> datetime:
    """The end of the default retention of a mail archived at ``now``: 1 January after ``years``
    full years from the end of its year (the rule of ``retention.retained_until``, which imports
    the storages and so cannot be imported here)."""
    return datetime(now.astimezone(UTC).year + years + 1, 1, 1, tzinfo=UTC)


def _client(endpoint: str | None, region: str | None, access_key: str | None, secret_key: str | None):
    """One boto3 client per settings and process (clients are thread-safe; making one is slow)."""
    settings = (os.getpid(), endpoint, region, access_key, secret_key)
    with _client_lock:
        client = _clients.get(settings)
        if client is None:
            config = Config(
                s3={"addressing_style": "path" if endpoint else "auto"},
                retries={"mode": "standard", "max_attempts": 3},
                max_pool_connections=_UPLOADERS + 2,
                # Content-MD5 (below) instead of the SDK's newer default checksums, which several
                # S3-compatible stores do not accept.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                **_TIMEOUTS)
            client = _clients[settings] = boto3.session.Session().client(
                "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
                aws_secret_access_key=secret_key, config=config)
        return client


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Storage:
    """Compressed bytes as objects under their SHA-256, each locked until its retention ends."""

    transactional = False

    def __init__(self, bucket: str, *, compress: Callable[[bytes], bytes], decompress: Callable[[bytes], bytes],
                 endpoint: str | None = None, region: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, lock_mode: str = "COMPLIANCE", retention_years: int = 6,
                 lock_until: Callable[[], datetime] | None = None) -> None:
        """``compress`` and ``decompress``: the storages' common format (storage.py hands them in;
        it imports this module). ``access_key`` and ``secret_key`` ``None``: boto3's own sources
        (its environment variables, ~/.aws, an instance role). ``lock_until`` replaces the lock
        date (default: :func:`lock_end` of now and ``retention_years``)."""
        if boto3 is None:
            raise RuntimeError("the S3 archive storage needs boto3: install tricoma-mail with the extra 's3'")
        if not bucket:
            raise ValueError("an S3 bucket is needed")
        mode = (lock_mode or "").upper()
        if mode not in LOCK_MODES:
            raise ValueError(f"lock mode {lock_mode!r}: use {' or '.join(LOCK_MODES)}")
        self.bucket, self.endpoint, self.lock_mode = bucket, endpoint or None, mode
        self._compress, self._decompress = compress, decompress
        self._lock_until = lock_until or (lambda: lock_end(datetime.now(UTC), retention_years))
        self._client = _client(self.endpoint, region or None, access_key or None, secret_key or None)

    @classmethod
    def from_config(cls, compress: Callable[[bytes], bytes], decompress: Callable[[bytes], bytes]) -> "S3Storage":
        """The storage of the current app's ``TRICOMA_MAIL_ARCHIVE_S3_*`` settings."""
        config = current_app.config
        if not config.get("TRICOMA_MAIL_ARCHIVE_S3_BUCKET"):
            raise RuntimeError("TRICOMA_MAIL_ARCHIVE_STORAGE is 's3' but TRICOMA_MAIL_ARCHIVE_S3_BUCKET is not set")
        return cls(config["TRICOMA_MAIL_ARCHIVE_S3_BUCKET"], compress=compress, decompress=decompress,
                   endpoint=config.get("TRICOMA_MAIL_ARCHIVE_S3_ENDPOINT"),
                   region=config.get("TRICOMA_MAIL_ARCHIVE_S3_REGION"),
                   access_key=config.get("TRICOMA_MAIL_ARCHIVE_S3_ACCESS_KEY"),
                   secret_key=config.get("TRICOMA_MAIL_ARCHIVE_S3_SECRET_KEY"),
                   lock_mode=config.get("TRICOMA_MAIL_ARCHIVE_S3_LOCK_MODE") or "COMPLIANCE",
                   retention_years=int(config["TRICOMA_MAIL_ARCHIVE_RETENTION_YEARS"]))

    @staticmethod
    def key(sha256: str) -> str:
        return f"{sha256}{SUFFIX}"

    # ---- writing ---------------------------------------------------------------------------

    def put(self, blobs: Mapping[str, bytes]) -> None:
        self.put_started(blobs)()

    def put_started(self, blobs: Mapping[str, bytes]) -> Callable[[], None]:
        """Every mail is compressed and stored on the pool; the returned call waits for all of
        them and raises the first failure."""
        if not blobs:
            return lambda: None
        until = self._lock_until()
        pool = _uploaders.get()
        checked = pool.submit(self._check_bucket_locks)
        stores = [pool.submit(self._store, sha, raw, until) for sha, raw in blobs.items()]

        def finish() -> None:
            _results([checked, *stores])
        return finish

    def _check_bucket_locks(self) -> None:
        """Refuse to write into a bucket without object lock: the objects would not be locked."""
        bucket = (self.endpoint, self.bucket)
        if bucket in _locked_buckets:
            return
        with _translated(f"read the object lock settings of bucket {self.bucket}"):
            try:
                settings = self._client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as error:
                if _code(error) not in ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"):
                    raise
                settings = {}
        if settings.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise ObjectStoreError(f"bucket {self.bucket} was not made with object lock; make it with object "
                                   "lock enabled (docs/archive.md)")
        _locked_buckets.add(bucket)

    def _store(self, sha256: str, raw: bytes, until: datetime) -> None:
        key = self.key(sha256)
        with _translated(f"store {key}"):
            stored = self._head(key)
            if stored is not None:
                self._keep_until(key, stored, until)
                return
            data = self._compress(raw)
            try:
                self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*", ContentType="application/octet-stream",
                    ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
                    ObjectLockMode=self.lock_mode, ObjectLockRetainUntilDate=until)
            except ClientError as error:
                if _status(error) != 412:
                    raise
                # another process stored the same mail in between, with the same lock

    def _head(self, key: str) -> dict | None:
        try:
            return self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                return None
            raise

    def _keep_until(self, key: str, stored: dict, until: datetime) -> None:
        """Extend the lock of a stored version that ends before ``until`` (never shorten it)."""
        current = stored.get("ObjectLockRetainUntilDate")
        if current is not None and current >= until:
            return
        self._client.put_object_retention(
            Bucket=self.bucket, Key=key, VersionId=stored["VersionId"],
            Retention={"Mode": stored.get("ObjectLockMode") or self.lock_mode, "RetainUntilDate": until})

    # ---- reading ---------------------------------------------------------------------------

    def get(self, sha256: str) -> bytes | None:
        """The bytes of the object's current version: a version written after ours (the locked
        original stays beside it) no longer matches the SHA-256, and ``archive verify`` says so."""
        key = self.key(sha256)
        with _translated(f"read {key}"):
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if _status(error) == 404:
                    return None
                raise
            data = answer["Body"].read()
        return self._decompress(data)

    def stored_bytes(self) -> int:
        with _translated(f"list bucket {self.bucket}"):
            return sum(item["Size"] for item in self._objects() if item["Key"].endswith(SUFFIX))

    def _objects(self) -> Iterator[dict]:
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            yield from page.get("Contents", [])

    # ---- the purge run ---------------------------------------------------------------------

    def delete(self, sha256s: Iterable[str]) -> None:
        """Remove every version of each object (a plain DELETE would only hide it behind a delete
        marker). The store refuses while a version's lock lasts: the purge run then fails."""
        for sha256 in sha256s:
            key = self.key(sha256)
            with _translated(f"delete {key}"):
                for version_id in self._versions(key):
                    self._client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)

    def _versions(self, key: str) -> list[str]:
        found = []
        for page in self._client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
            found += [item["VersionId"] for kind in ("Versions", "DeleteMarkers") for item in page.get(kind, [])
                      if item["Key"] == key]
        return found


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """Turn the SDK's errors into :class:`ObjectStoreError` naming what was being done."""
    try:
        yield
    except ClientError as error:
        raise ObjectStoreError(
            f"the object store refused to {doing}: {_code(error)} (HTTP {_status(error)})") from error
    except BotoCoreError as error:
        raise ObjectStoreError(f"could not {doing} in the object store: {error}") from error


def _results(futures: list[Future]) -> None:
    """Wait for every one of ``futures``; then raise the first failure, if any."""
    errors = [error for error in (future.exception() for future in futures) if error is not None]
    if errors:
        raise errors[0]
