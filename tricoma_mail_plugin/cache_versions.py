"""What a web process may remember between requests, and how it learns that it changed.

Some answers are asked on every page and change rarely: which plugins are switched off, which
rights a user holds on a mailbox, who audits the archive, whose remote images a user trusts.
Each process keeps them (:class:`VersionedCache`, one per app) under the version of what they
were read from, and reads the versions once per request, in one small query of
``tricoma_mail_cache_version``: one row per kind, core's in :data:`WATCHED_TABLES`, and each kind
a plugin's migration adds for its own tables with :func:`add_cache_kind`.

The database keeps the versions itself: triggers on the watched tables (migration
``tricoma_mail_0012_cache_versions``) move the row of their kind in the transaction that writes,
whoever writes (a view, the CLI, a job, a plugin with its own SQL). So a toggle or a changed right
is seen at the next request of every process, on every host, and a write that is rolled back
moves nothing. A version moves by a random step, not by one: a rolled back write that a process
saw from inside its own transaction, or a database emptied and migrated again, cannot bring back
a number some process still remembers.

A plugin remembers answers of its own tables the same way: its migration calls
:func:`add_cache_kind` (and its downgrade :func:`drop_cache_kind`), its code asks
``versioned_cache().get_or_load(kind, …)`` and calls :func:`forget_versions` after it wrote.

The table is not in the models' metadata (like the full-text tables): the test suite's "empty
every table" leaves it, and Alembic's comparison skips it (``migration_include_object``).
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import column, delete, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError

from ._state import mail_state

if TYPE_CHECKING:
    from alembic.operations import Operations

TABLE_NAME = "tricoma_mail_cache_version"
#: the tables whose writes move each of core's kinds' version (the core migrations' triggers);
#: plugins' kinds are not listed here, their migrations name their tables to :func:`add_cache_kind`
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


# -- a plugin's own kinds, for its Alembic migrations -------------------------------------------

#: kinds and table names go into the triggers' SQL as they are: plain lower-case identifiers only
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")
#: PostgreSQL cuts longer trigger names (NAMEDATALEN - 1)
_MAX_TRIGGER_NAME = 63


def add_cache_kind(op: Operations, kind: str, tables: Sequence[str]) -> None:
    """For a plugin's Alembic ``upgrade()``: the row of ``kind`` (a name of the plugin's own,
    prefixed like its tables, at most 50 characters) at a random first value, and triggers that
    move it in every transaction that inserts, updates or deletes rows of ``tables`` (on
    PostgreSQL truncates too), the same triggers core's kinds have. The plugin then asks
    ``versioned_cache().get_or_load(kind, …)`` and calls ``forget_versions()`` after writing.

    The migration must run after core's ``tricoma_mail_0012_cache_versions`` (name it in
    ``depends_on``). On SQLite a batch alter makes a table anew without its triggers: a later
    migration that alters a watched table that way drops the kind before and adds it again after."""
    postgresql = _checked_dialect(op, kind, tables)
    op.bulk_insert(_versions_table, [{"name": kind, "value": secrets.randbelow(2**53)}])
    for watched in tables:
        if postgresql:
            # tricoma_mail_bump_cache_version() comes with tricoma_mail_0012_cache_versions
            op.execute(f"CREATE TRIGGER {_trigger_name(kind, watched)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {watched} FOR EACH STATEMENT EXECUTE FUNCTION tricoma_mail_bump_cache_version('{kind}')")
            continue
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {_trigger_name(kind, watched)}_{event.lower()} AFTER {event} ON {watched} "
                       f"BEGIN UPDATE {TABLE_NAME} SET value = value + 1 + abs(random() % 1000000000) "
                       f"WHERE name = '{kind}'; END")


def drop_cache_kind(op: Operations, kind: str, tables: Sequence[str]) -> None:
    """For the plugin's ``downgrade()``: the triggers :func:`add_cache_kind` made on ``tables``
    and the row of ``kind``, gone (the tables stay)."""
    postgresql = _checked_dialect(op, kind, tables)
    for watched in tables:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(kind, watched)} ON {watched}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(kind, watched)}_{event}")
    op.execute(delete(_versions_table).where(_versions_table.c.name == kind))


def _trigger_name(kind: str, watched: str) -> str:
    return f"{watched}_{kind}_version"  # the shape of tricoma_mail_0014_page_caches


def _checked_dialect(op: Operations, kind: str, tables: Sequence[str]) -> bool:
    """Whether the migration runs on PostgreSQL (else SQLite), once ``kind`` and ``tables`` are
    known to be safe in the triggers' SQL and not to take one of core's kinds."""
    if isinstance(tables, str) or not tables:
        raise ValueError("tables: a sequence of one or more table names")
    if not _IDENTIFIER.match(kind) or len(kind) > 50 or kind in WATCHED_TABLES:
        raise ValueError(f"kind {kind!r}: a lower-case name of the plugin's own, at most 50 characters")
    for watched in tables:
        if not _IDENTIFIER.match(watched) or len(_trigger_name(kind, watched) + "_delete") > _MAX_TRIGGER_NAME:
            raise ValueError(f"table {watched!r}: a lower-case name short enough for the trigger "
                             f"{_trigger_name(kind, watched)!r}")
    return op.get_context().dialect.name == "postgresql"
