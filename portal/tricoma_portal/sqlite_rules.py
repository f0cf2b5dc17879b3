"""SQLite rules for the portal's own database: foreign keys enforced (a tenant's or a mailbox's
rows go with it, ON DELETE CASCADE), and the default rollback journal kept: Postfix and Dovecot
read the same file as other users, which WAL would lock them out of."""
from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def enforce_foreign_keys(engine: Engine) -> None:
    """Turn on foreign keys for every new SQLite connection of ``engine``."""
    if not event.contains(engine, "connect", _foreign_keys_on):
        event.listen(engine, "connect", _foreign_keys_on)


def _foreign_keys_on(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
