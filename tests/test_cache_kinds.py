"""A plugin's own kind of version (``add_cache_kind`` / ``drop_cache_kind`` in
``cache_versions``): its migration adds a row and the triggers of core's kinds on the plugin's
tables, so every committed write moves it, whoever writes, and a rolled back one does not."""
from __future__ import annotations

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Integer, String, delete, insert, select, table, text, update

from hostapp.extensions import db
from tricoma_mail_plugin import add_cache_kind, drop_cache_kind, versioned_cache
from tricoma_mail_plugin.cache_versions import TABLE_NAME

PROBE, KIND = "cache_kind_probe", "probe_notes"
probe = table(PROBE, Column("id", Integer), Column("note", String))


def migrate(app, steps) -> None:
    """``steps(op)`` as a migration would run them, on a connection of its own, committed."""
    with app.app_context(), db.engine.begin() as connection:
        steps(Operations(MigrationContext.configure(connection)))


def version(app) -> int | None:
    with app.app_context(), db.engine.connect() as connection:
        return connection.scalar(text(f"SELECT value FROM {TABLE_NAME} WHERE name = :kind"), {"kind": KIND})


def write(app, statement) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(statement)


def triggers_on_probe(app) -> list[str]:
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            found = text("SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal")
        else:
            found = text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t")
        return list(connection.scalars(found, {"t": PROBE}))


@pytest.fixture
def probe_table(app):
    migrate(app, lambda op: op.create_table(PROBE, Column("id", Integer, primary_key=True), Column("note", String(50))))
    yield
    migrate(app, lambda op: op.drop_table(PROBE))  # its triggers go with it
    write(app, text(f"DELETE FROM {TABLE_NAME} WHERE name = :kind").bindparams(kind=KIND))


def test_every_committed_write_moves_the_kind_and_a_rolled_back_one_does_not(app, probe_table):
    assert version(app) is None
    migrate(app, lambda op: add_cache_kind(op, KIND, (PROBE,)))
    seen = [version(app)]
    assert seen[0] is not None and triggers_on_probe(app)
    for statement in (insert(probe).values(id=1, note="a"), update(probe).values(note="b"), delete(probe)):
        write(app, statement)
        seen.append(version(app))
    assert len(set(seen)) == 4, seen
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(insert(probe).values(id=2, note="undone"))
        connection.rollback()
    assert version(app) == seen[-1]

    with app.test_request_context("/"):  # what a plugin's code asks
        loads = []
        assert versioned_cache().get_or_load(KIND, "notes", lambda: loads.append(1) or "read") == "read"
        assert versioned_cache().get_or_load(KIND, "notes", lambda: loads.append(1) or "again") == "read"
        assert loads == [1]


def test_dropping_the_kind_leaves_the_table_unwatched_and_the_row_gone(app, probe_table):
    migrate(app, lambda op: add_cache_kind(op, KIND, (PROBE,)))
    migrate(app, lambda op: drop_cache_kind(op, KIND, (PROBE,)))
    assert version(app) is None and triggers_on_probe(app) == []
    write(app, insert(probe).values(id=1, note="a"))  # no trigger left to fail on the missing row
    with app.app_context():
        assert db.session.scalar(select(probe.c.note)) == "a"
        assert "rights" in set(db.session.scalars(text(f"SELECT name FROM {TABLE_NAME}")))  # core's stay


@pytest.mark.db_independent
@pytest.mark.parametrize("kind, tables", [
    ("rights", ("probe",)),  # core's own kind
    ("Probe", ("probe",)), ("probe'; DROP TABLE x; --", ("probe",)), ("p" * 51, ("probe",)),
    ("probe", "probe"), ("probe", ()), ("probe", ("probe x",)), ("probe", ("t" * 50,)),
])
def test_a_kind_or_table_the_triggers_cannot_take_is_refused(kind, tables):
    with pytest.raises(ValueError):
        add_cache_kind(None, kind, tables)
    with pytest.raises(ValueError):
        drop_cache_kind(None, kind, tables)
