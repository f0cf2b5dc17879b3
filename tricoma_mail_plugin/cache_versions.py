"""What a web process may remember between requests, and how it learns that it changed.

Some answers are asked on every page and change rarely: which plugins are switched off, which
rights a user holds on a mailbox, who audits the archive, whose remote images a user trusts.
Each process keeps them (:class:`VersionedCache`, one per app) under the version of what they
were read from, and reads the versions once per request, in one small query of ``tricoma_mail_cache_version`` (one row per kind, :data:`WATCHED_TABLES`).

The database keeps the versions itself: triggers on the watched tables (migration
``tricoma_mail_0012_cache_versions``) move the row of their kind in the transaction that writes,
whoever writes (a view, the CLI, a job, a plugin with its own SQL). So a toggle or a changed right is seen at the next request of every process, on every
host, and a write that is rolled back moves nothing. A version moves by a random step, not by
one: a rolled back write that a process saw from inside its own transaction, or a database
emptied and migrated again, cannot bring back a number some process still remembers.

The table is not in the models' metadata (like the full-text tables): the test suite's "empty
every table" leaves it, and Alembic's comparison skips it (``migration_include_object``).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import column, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError

from ._state import mail_state

TABLE_NAME = "tricoma_mail_cache_version"
#: the tables whose writes move each kind's version (the migration's triggers)
WATCHED_TABLES = {"plugins": ("tricoma_mail_plugin_state",),
                  "rights": ("tricoma_mail_grant", "tricoma_mail_archive_auditor"),
                  "senders": ("tricoma_mail_trusted_sender",),
                  "tags": ("tricoma_mail_tag",),
                  "links": ("tricoma_mail_record_link",),
                  "notices": ("tricoma_mail_notice",),
                  "mailboxes": ("tricoma_mail_mailbox",),
                  "folders": ("tricoma_mail_folder",),
                  "unread": ("tricoma_mail_folder",)}
#: kinds whose updates count only when they set one of these columns (migration
#: ``tricoma_mail_0014_page_caches``): a sync writes its bookkeeping (``last_sync_at``, ``uidnext``,
#: leases) on every pass, which changes nothing a cached answer holds. Inserts and deletes always count.
WATCHED_COLUMNS = {"mailboxes": ("title", "email", "kind", "sender_name", "folder_roles", "last_test_ok",
                                 "deleted_at"),
                   "folders": ("name", "delimiter", "flags", "special_use"),
                   "unread": ("name", "unseen")}

_versions_table = table(TABLE_NAME, column("name"), column("value"))
_READ = select(_versions_table.c.name, _versions_table.c.value)
_G_KEY = "_tricoma_mail_cache_versions"
_EXTENSION_KEY = "tricoma_mail_versioned_cache"
_PRESENT_KEY = "tricoma_mail_cache_versions_present"
#: outside a request (jobs, CLI) the versions are read again after this many seconds
JOB_SECONDS = 1.0
#: entries one process keeps per kind before it starts again
MAX_ENTRIES = 20_000


def versions() -> dict[str, int]:
    """The versions of every kind, read once per request (outside a request at most once a
    second); ``{}`` when the table is missing (a database not migrated yet): then nothing is
    remembered."""
    if has_app_context():
        found = g.get(_G_KEY)
        if found is not None and (has_request_context() or time.monotonic() - found[0] < JOB_SECONDS):
            return found[1]
    read = {}
    if _table_present():
        read = {name: int(value) for name, value in mail_state().db.session.execute(_READ)}
    if has_app_context():
        setattr(g, _G_KEY, (time.monotonic(), read))
    return read


def _table_present() -> bool:
    """Whether the database has the versions table, asked on a connection of its own (a failed
    query would spoil the session's transaction) until the answer is yes."""
    extensions = current_app.extensions
    if extensions.get(_PRESENT_KEY):
        return True
    try:
        with mail_state().db.engine.connect() as connection:
            present = inspect(connection).has_table(TABLE_NAME)
    except SQLAlchemyError:
        present = False
    if present:
        extensions[_PRESENT_KEY] = True
    return present


def forget_versions() -> None:
    """This request wrote something a version watches: read the versions again when asked
    (the new ones are visible to the writer's own transaction)."""
    if has_app_context():
        g.pop(_G_KEY, None)


class VersionedCache:
    """Answers remembered per kind under the version they were read at; thread-safe (gthread
    workers share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str | tuple[str, ...], tuple[Hashable, dict[Hashable, Any]]] = {}

    def get_or_load(self, kind: str | tuple[str, ...], key: Hashable, load: Callable[[], Any]) -> Any:
        """The answer remembered for ``key`` at the current version of ``kind`` (or of each of
        several kinds), else ``load()`` (remembered for the next request when every version is
        known)."""
        known = versions()
        version = tuple(known.get(each) for each in kind) if isinstance(kind, tuple) else known.get(kind)
        if version is None or (isinstance(version, tuple) and None in version):
            return load()
        with self._lock:
            held = self._entries.get(kind)
            if held is not None and held[0] == version and key in held[1]:
                return held[1][key]
        value = load()
        with self._lock:
            held = self._entries.get(kind)
            if held is None or held[0] != version or len(held[1]) >= MAX_ENTRIES:
                held = (version, {})
                self._entries[kind] = held
            held[1][key] = value
        return value


def versioned_cache() -> VersionedCache:
    """The current app's cache (made at its first use)."""
    extensions = current_app.extensions
    cache = extensions.get(_EXTENSION_KEY)
    if cache is None:
        cache = extensions.setdefault(_EXTENSION_KEY, VersionedCache())
    return cache
