"""``bulk_insert``: many rows in one round trip (multi-row VALUES on SQLite, unnested arrays on
PostgreSQL) store exactly what SQLAlchemy's own INSERT stores: bound values (UTC times, JSON,
booleans, bytes), Python-side defaults (a callable one per row), ids in the order of the rows,
rows that collide with a unique key skipped; ``one_of`` matches a long list."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, LargeBinary, MetaData, String, Table, func, insert, select, text

from hostapp.extensions import db
from tricoma_mail_plugin.bulk_insert import insert_rows, insert_values, one_of
from tricoma_mail_plugin.models import UtcDateTime

_counter = itertools.count(1)
metadata = MetaData()
probe = Table(
    "tricoma_mail_test_bulk_probe", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), unique=True, nullable=False),
    Column("at", UtcDateTime()),
    Column("payload", JSON, default=dict),
    Column("flag", Boolean, default=False),
    Column("note", String(20), default="none"),
    Column("serial", Integer, default=lambda: next(_counter)),
    Column("data", LargeBinary),
)


@pytest.fixture
def table(app):
    with app.app_context():
        probe.create(db.engine)
        try:
            yield probe
        finally:
            db.session.rollback()
            probe.drop(db.engine)


def _rows(keys, base=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))):
    return [{"key": key, "at": base + timedelta(minutes=n), "payload": {"n": n, "name": f"Grüße {key}"},
             "data": bytes([n % 256]) * (n + 1)} for n, key in enumerate(keys)]


def test_ids_in_order_values_and_defaults_as_sqlalchemy_stores_them(app, table):
    with app.app_context():
        rows = _rows([f"k{n:04d}" for n in range(1200)])  # more than one SQLite statement's worth
        ids = insert_rows(db.session, table, rows, returning=table.c.id)
        db.session.execute(insert(table), [dict(_rows(["reference"])[0])])
        db.session.commit()
        assert len(ids) == len(rows) and ids == sorted(ids)
        stored = {row.key: row for row in db.session.execute(select(table))}
        for row_id, row in zip(ids, rows):
            got = stored[row["key"]]
            assert got.id == row_id
            assert got.at == row["at"] and got.at.tzinfo is not None
            assert got.payload == row["payload"] and got.data == row["data"]
            assert got.flag is False and got.note == "none"
        assert len({stored[row["key"]].serial for row in rows}) == len(rows)  # called per row
        # the very same representation as SQLAlchemy's own INSERT (SQLite stores times as text)
        as_text = {key: value for key, value in db.session.execute(
            text(f"SELECT key, CAST(at AS VARCHAR(60)) FROM {table.name} WHERE key IN ('k0000', 'reference')"))}
        assert as_text["k0000"] == as_text["reference"]


def test_rows_colliding_with_a_unique_key_are_skipped(app, table):
    with app.app_context():
        insert_rows(db.session, table, _rows(["a", "c"]))
        db.session.commit()
        fresh = insert_rows(db.session, table, _rows(["a", "b", "c", "d"]), ignore_conflicts=True,
                            returning=table.c.key)
        db.session.commit()
        assert sorted(fresh) == ["b", "d"]
        assert db.session.scalar(select(table.c.at).where(table.c.key == "c")) == _rows(["a", "c"])[1]["at"]
        assert insert_rows(db.session, table, []) == []


def test_one_of_a_long_list(app, table):
    with app.app_context():
        keys = [f"k{n:04d}" for n in range(700)]
        insert_rows(db.session, table, _rows(keys))
        db.session.commit()
        wanted = keys[::3] + ["missing"]
        found = set(db.session.scalars(select(table.c.key).where(one_of(db.session, table.c.key, wanted))))
        assert found == set(keys[::3])


def test_one_of_whole_numbers_is_one_parameter_whatever_the_length(app, table):
    """Ids (an event delivery claims 500) match as they do in a plain IN, and the statement has
    one parameter, so its compiled form is the same for every list (not so for other values)."""
    with app.app_context():
        ids = insert_rows(db.session, table, _rows([f"n{n:04d}" for n in range(600)]), returning=table.c.id)
        db.session.commit()
        wanted = ids[::2] + [max(ids) + 1000]
        statement = select(table.c.id).where(one_of(db.session, table.c.id, wanted))
        assert set(db.session.scalars(statement)) == set(ids[::2])
        assert len(statement.compile(db.engine).params) == 1
        first = _rows(["x"])[0]["at"]  # the first row's time: other values take a plain IN
        assert list(db.session.scalars(select(table.c.id).where(one_of(db.session, table.c.at, [first])))) == ids[:1]
        flagged = select(table.c.id).where(one_of(db.session, table.c.flag, [False]))
        assert set(db.session.scalars(flagged)) == set(ids)


def test_sqlite_inserts_many_rows_in_one_statement_not_one_per_row(app, table):
    """executemany would let go of the interpreter lock for each row (a journaled sync's writer
    then waits for it behind the sync's parsing thread, row after row)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's statements")
        statements: list[str] = []
        raw = db.session.connection().connection.driver_connection
        raw.set_trace_callback(statements.append)
        try:
            insert_rows(db.session, table, _rows([f"s{n:04d}" for n in range(500)]))
            insert_rows(db.session, table, _rows([f"s{n:04d}" for n in range(400, 900)]), ignore_conflicts=True)
        finally:
            raw.set_trace_callback(None)
        db.session.commit()
        assert len([sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]) == 2
        assert db.session.scalar(select(func.count()).select_from(table)) == 900


# -- insert_values: rows as value lists (the sync's writer) ---------------------------------------

def _values(keys, base=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))):
    return [[key, base + timedelta(minutes=n), {"n": n, "name": f"Grüße {n}"}, n % 2 == 0]
            for n, key in enumerate(keys)]


def test_value_lists_are_stored_as_the_same_rows_as_dicts(app, table):
    names = ["key", "at", "payload", "flag"]
    with app.app_context():
        as_lists = _values([f"l{n:04d}" for n in range(700)])
        as_dicts = [dict(zip(names, line)) for line in _values([f"d{n:04d}" for n in range(700)])]
        ids = insert_values(db.session, table, names, [list(line) for line in as_lists], returning=table.c.id)
        insert_rows(db.session, table, as_dicts)
        db.session.commit()
        assert len(ids) == 700 and ids == sorted(ids)
        stored = {row.key: row for row in db.session.execute(select(table))}
        for row_id, (key, at, payload, flag) in zip(ids, as_lists):
            got = stored[key]
            assert (got.id, got.at, got.payload, got.flag) == (row_id, at, payload, flag)
            twin = stored["d" + key[1:]]
            assert (twin.at, twin.payload, twin.flag) == (got.at, got.payload, got.flag)
        assert len({row.serial for row in stored.values()}) == 1400  # a callable default per row
        as_text = dict(db.session.execute(text(
            f"SELECT key, CAST(at AS VARCHAR(60)) FROM {table.name} WHERE key IN ('l0005', 'd0005')")).all())
        assert as_text["l0005"] == as_text["d0005"]


def test_value_lists_colliding_with_a_unique_key_are_skipped(app, table):
    names = ["key", "at", "payload", "flag"]
    with app.app_context():
        insert_values(db.session, table, names, _values(["a", "c"]))
        db.session.commit()
        fresh = insert_values(db.session, table, names, _values(["a", "b", "c", "d"]), ignore_conflicts=True,
                              returning=table.c.key)
        db.session.commit()
        assert sorted(fresh) == ["b", "d"]
        assert insert_values(db.session, table, names, []) == []


def test_json_is_stored_as_the_same_text_sqlalchemy_stores(app, table):
    payloads = [{"folder": "INBOX", "uid": 7, "cached": [3, 1700000000]}, {"n": 1.5, "big": 1e100, "none": None},
                {"text": "Grüße \u2028 \"quoted\" \\ \u00e9", "nested": {"list": [True, False, []]}}, [], {},
                {1: "a whole-number key"}, [1, "two", {"three": 3}], None, "a plain string", 12]
    with app.app_context():
        insert_rows(db.session, table, [{"key": f"j{n}", "payload": payload} for n, payload in enumerate(payloads)])
        db.session.execute(insert(table), [{"key": f"s{n}", "payload": payload} for n, payload in enumerate(payloads)])
        stored = dict(db.session.execute(select(table.c.key, func.cast(table.c.payload, String))).all())
        db.session.commit()
        for n, payload in enumerate(payloads):
            assert stored[f"j{n}"] == stored[f"s{n}"], payload
        if db.engine.dialect.name == "sqlite":  # json.dumps's text (PostgreSQL's json type keeps what it was given)
            assert stored["j0"] == '{"folder": "INBOX", "uid": 7, "cached": [3, 1700000000]}'
