"""The host's SQLite settings (hostapp/sqlite_tuning.py): WAL, NORMAL sync, and 16 KiB pages for a
new database file only."""
from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text

from hostapp import sqlite_tuning


def settings(path) -> tuple:
    engine = create_engine(f"sqlite:///{path}")
    sqlite_tuning.tune(engine)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            return tuple(connection.execute(text(f"PRAGMA {name}")).scalar()
                         for name in ("page_size", "journal_mode", "synchronous", "foreign_keys"))
    finally:
        engine.dispose()


def test_a_new_database_file_gets_large_pages_and_wal(tmp_path):
    assert settings(tmp_path / "new.db") == (sqlite_tuning.PAGE_SIZE, "wal", 1, 1)
    assert settings(tmp_path / "new.db") == (sqlite_tuning.PAGE_SIZE, "wal", 1, 1)  # opened again


def test_a_database_made_before_keeps_its_page_size(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("PRAGMA page_size = 4096")
        old.execute("CREATE TABLE kept (x INTEGER)")
    assert settings(path) == (4096, "wal", 1, 1)
