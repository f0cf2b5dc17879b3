"""The database's own guard of the archive: triggers that refuse to change or delete archive
entries, purge records and purge runs, and to delete stored bytes that an entry still needs.

Installed by migration ``tricoma_mail_0012_archive`` on SQLite and PostgreSQL alike; nothing in
the product can lift it. Only a test suite that empties every table between tests lifts it for
that (``guard_lifted``), inside the same transaction.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: Tables whose rows are never updated or deleted.
APPEND_ONLY = ("tricoma_mail_archive_entry", "tricoma_mail_archive_purge", "tricoma_mail_archive_purge_run")
BLOBS = "tricoma_mail_archive_blob"
REFUSAL = "the archive is append-only"

_STILL_NEEDED = (
    "EXISTS (SELECT 1 FROM tricoma_mail_archive_entry e WHERE e.sha256 = OLD.sha256 "
    "AND NOT EXISTS (SELECT 1 FROM tricoma_mail_archive_purge p WHERE p.entry_id = e.id))"
)


def _sqlite_statements() -> list[str]:
    statements = []
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    statements.append(f"CREATE TRIGGER {BLOBS}_no_update BEFORE UPDATE ON {BLOBS} "
                      f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    statements.append(f"CREATE TRIGGER {BLOBS}_no_delete BEFORE DELETE ON {BLOBS} WHEN {_STILL_NEEDED} "
                      f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    return statements


def _postgresql_statements() -> list[str]:
    statements = [
        ("CREATE OR REPLACE FUNCTION tricoma_mail_archive_refuse() RETURNS trigger AS $$ BEGIN "
         f"RAISE EXCEPTION '{REFUSAL}'; END $$ LANGUAGE plpgsql"),
        ("CREATE OR REPLACE FUNCTION tricoma_mail_archive_blob_guard() RETURNS trigger AS $$ BEGIN "
         f"IF TG_OP = 'UPDATE' OR {_STILL_NEEDED} THEN RAISE EXCEPTION '{REFUSAL}'; END IF; "
         "RETURN OLD; END $$ LANGUAGE plpgsql"),
    ]
    for table in APPEND_ONLY:
        statements.append(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                          "FOR EACH ROW EXECUTE FUNCTION tricoma_mail_archive_refuse()")
    for table in (*APPEND_ONLY, BLOBS):
        statements.append(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                          "FOR EACH STATEMENT EXECUTE FUNCTION tricoma_mail_archive_refuse()")
    statements.append(f"CREATE TRIGGER {BLOBS}_guard BEFORE UPDATE OR DELETE ON {BLOBS} "
                      "FOR EACH ROW EXECUTE FUNCTION tricoma_mail_archive_blob_guard()")
    return statements


def _trigger_names(dialect: str) -> list[tuple[str, str]]:
    """(trigger, table) pairs the guard creates on ``dialect``."""
    if dialect == "sqlite":
        names = [(f"{table}_no_{action}", table) for table in APPEND_ONLY for action in ("update", "delete")]
        return names + [(f"{BLOBS}_no_update", BLOBS), (f"{BLOBS}_no_delete", BLOBS)]
    names = [(f"{table}_no_change", table) for table in APPEND_ONLY]
    names += [(f"{table}_no_truncate", table) for table in (*APPEND_ONLY, BLOBS)]
    return names + [(f"{BLOBS}_guard", BLOBS)]


def install_guard(connection: Connection) -> None:
    """Create the triggers (SQLite, PostgreSQL; other databases get none)."""
    dialect = connection.dialect.name
    statements = {"sqlite": _sqlite_statements, "postgresql": _postgresql_statements}.get(dialect)
    for statement in statements() if statements else ():
        connection.execute(text(statement))


def remove_guard(connection: Connection) -> None:
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return
    for trigger, table in _trigger_names(dialect):
        suffix = "" if dialect == "sqlite" else f" ON {table}"
        connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}{suffix}"))
    if dialect == "postgresql":
        connection.execute(text("DROP FUNCTION IF EXISTS tricoma_mail_archive_refuse()"))
        connection.execute(text("DROP FUNCTION IF EXISTS tricoma_mail_archive_blob_guard()"))


@contextmanager
def guard_lifted(connection: Connection) -> Iterator[None]:
    """For emptying a test database only: the guard is off inside the block, in the caller's
    transaction, and back on when it ends. On PostgreSQL the triggers are skipped for this
    transaction (superuser), so no other session's lock on the tables is waited for."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        connection.execute(text("SET LOCAL session_replication_role = DEFAULT"))
        return
    remove_guard(connection)
    yield
    install_guard(connection)
