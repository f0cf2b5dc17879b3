"""SQLite settings for a database that a web server, background threads and CLI processes share:
write-ahead logging (readers never wait for the writer), a busy timeout instead of immediate
"database is locked" errors, and NORMAL sync, which is safe with WAL and saves an fsync per
commit.

Only the host's own engines are tuned (``tune``): another app in the same process (the hosting
portal, whose SQLite file Postfix and Dovecot read as other users) keeps its journal mode."""
from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def tune(engine: Engine) -> None:
    """Apply the settings to every new connection of ``engine`` (a no-op for other databases)."""
    if not event.contains(engine, "connect", _tune_sqlite):
        event.listen(engine, "connect", _tune_sqlite)


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
