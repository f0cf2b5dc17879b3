"""SQLite settings for a database that a web server, background threads and CLI processes share:
write-ahead logging (readers never wait for the writer), a busy timeout instead of immediate
"database is locked" errors, and NORMAL sync, which is safe with WAL and saves an fsync per
commit. A new database file gets 16 KiB pages (SQLite's default is 4 KiB; Firefox uses 32 KiB
for its history): the archive's compressed mails of 2-3 KB fit one to a 4 KiB page, half of it
empty, and a sync commits each batch's random index keys page by page; with 16 KiB pages the
database grows by 3.2 KB per archived mail instead of 3.7 KB (bench/archive_bench.py) and the
journal's inserts of 10,000 mails take 0.36 s instead of 0.52-0.68 s (the same inserts alone,
SQLite's own page writes counted with strace). A file made before keeps its page size.

Checkpoints of the log run in a thread of their own once the writing pauses, not in whichever
commit takes the log past SQLite's threshold (sqlite_checkpoints.py).

Only the host's own engines are tuned (``tune``): another app in the same process (the hosting
portal, whose SQLite file Postfix and Dovecot read as other users) keeps its journal mode."""
from __future__ import annotations

import functools
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import sqlite_checkpoints


PAGE_SIZE = 16384


def tune(engine: Engine) -> None:
    """Apply the settings to every new connection of ``engine`` (a no-op for other databases)."""
    if not event.contains(engine, "connect", _tune_sqlite):
        event.listen(engine, "connect", _tune_sqlite)
    dialect = engine.dialect
    if engine.url.get_backend_name() == "sqlite" and not getattr(dialect, "_marks_commits", False):
        # Marked after the DBAPI commit, not in SQLAlchemy's "commit" event, which comes before
        # it: a checkpoint due while a commit is still writing would not see that commit's pages.
        dialect.do_commit = functools.partial(_commit_and_mark, dialect.do_commit)
        dialect._marks_commits = True


_FILE = "tricoma_sqlite_file"  # the key of a connection's database file in its pool record's info


def _commit_and_mark(do_commit, connection) -> None:
    do_commit(connection)
    info = getattr(connection, "info", None)  # the pool's connection: its record's info
    path = info.get(_FILE) if info is not None else None
    if path:
        sqlite_checkpoints.committed(path)


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    path = cursor.execute("PRAGMA database_list").fetchone()[2]  # absolute; empty for :memory:
    if path:
        if not cursor.execute("PRAGMA page_count").fetchone()[0]:  # new: the size is set before the first page
            cursor.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
        cursor.execute(f"PRAGMA wal_autocheckpoint = {sqlite_checkpoints.backstop_pages(page_size)}")
        connection_record.info[_FILE] = path
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
