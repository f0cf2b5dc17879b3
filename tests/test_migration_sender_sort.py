"""Migration 0015 fills the sender sort key of the messages cached before it, and its downgrade
takes the column away again, the messages kept."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import create_engine, inspect, text

import tricoma_mail_plugin
from tricoma_mail_plugin.mime.headers import sender_sort_key

FROMS = ['"Zoe Zander" <zoe@example.test>', "Ärger GmbH <info@example.test>", "anna@example.test", "",
         "=?utf-8?q?J=C3=BCrgen?= <j@example.test>", "CARLA <carla@example.test>"]


def migration():
    path = Path(tricoma_mail_plugin.__file__).parent / "migrations/versions/0015_tricoma_mail_sender_sort.py"
    spec = importlib.util.spec_from_file_location("sender_sort_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.db_independent  # a scratch SQLite database of its own
def test_the_migration_fills_the_key_of_every_cached_message_in_batches(tmp_path, monkeypatch):
    module = migration()
    monkeypatch.setattr(module, "BATCH", 4)  # several batches, the last one short
    engine = create_engine(f"sqlite:///{tmp_path / 'cache.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE tricoma_mail_message (id INTEGER PRIMARY KEY, from_addr TEXT)"))
        connection.execute(text("INSERT INTO tricoma_mail_message (id, from_addr) VALUES (:id, :from_addr)"),
                           [{"id": pk, "from_addr": FROMS[pk % len(FROMS)]} for pk in range(1, 11)])
        with Operations.context(MigrationContext.configure(connection)):
            module.upgrade()
        rows = connection.execute(text("SELECT from_addr, sender_sort FROM tricoma_mail_message ORDER BY id")).all()
    assert [key for _from, key in rows] == [sender_sort_key(from_) for from_, _key in rows]
    assert {key for _from, key in rows} == {"zoe zander", "arger gmbh", "anna@example.test", "", "jurgen", "carla"}

    with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        module.downgrade()
    assert "sender_sort" not in {column["name"] for column in inspect(engine).get_columns("tricoma_mail_message")}
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM tricoma_mail_message")) == 10
