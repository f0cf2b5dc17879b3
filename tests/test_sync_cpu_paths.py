"""The sync's writer builds its rows without a dict per row: ``insert_values`` (value lists in
the order of named columns) stores exactly what ``insert_rows`` stores, a cached message's row is
its summary's values under the right columns, and a batch's ``received`` payloads are each
summary's payload."""
from __future__ import annotations

import itertools
from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, select, text

from hostapp.extensions import db
from tricoma_mail_plugin import MessageSummary
from tricoma_mail_plugin.bulk_insert import insert_rows, insert_values
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.events.values import received_payload, received_payloads
from tricoma_mail_plugin.models import CachedMessage, UtcDateTime

_counter = itertools.count(1)
metadata = MetaData()
probe = Table(
    "tricoma_mail_test_values_probe", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), unique=True, nullable=False),
    Column("at", UtcDateTime()),
    Column("payload", JSON, default=dict),
    Column("flag", Boolean, default=False),
    Column("serial", Integer, default=lambda: next(_counter)),
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


def _summary(**changes) -> MessageSummary:
    values = dict(uid=7, flags=("\\Seen", "$Label1"), size=1234,
                  internal_date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                  from_="Anna <anna@example.test>", to="b@example.test", cc="", subject="Grüße",
                  date=datetime(2026, 1, 2, 2, 4, 5, 600, tzinfo=timezone.utc), message_id="<m@example.test>",
                  in_reply_to="<p@example.test>", references="<o@example.test> <p@example.test>",
                  has_attachment=True, preview="Hallo", modseq=99)
    values.update(changes)
    return MessageSummary(**values)


def test_a_cached_messages_row_holds_its_summarys_values_under_their_columns():
    summary = _summary()
    row = dict(zip(sync._ROW_COLUMNS, sync._row(3, summary)))
    columns = {attribute.key: attribute.columns[0].name for attribute in CachedMessage.__mapper__.column_attrs}
    expected = {columns[field.name]: getattr(summary, field.name) for field in fields(MessageSummary)}
    expected.update(folder_id=3, flags="\\Seen $Label1", seen=True, flagged=False)
    assert row == expected
    assert set(row) <= set(CachedMessage.__table__.columns.keys())

    undated = dict(zip(sync._ROW_COLUMNS, sync._row(3, _summary(date=None, flags=("\\Flagged",)))))
    assert undated["date"] == summary.internal_date  # lists sort by it: never empty
    assert (undated["flags"], undated["seen"], undated["flagged"]) == ("\\Flagged", False, True)


@pytest.mark.parametrize("when", [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=timezone(timedelta(hours=-5))),  # in UTC in the payload
    datetime(2026, 1, 2, 3, 4, 5),  # no zone: written as it is
    None,
])
def test_a_batchs_received_payloads_are_each_summarys_payload(when):
    summaries = [_summary(uid=1, internal_date=when, date=when), _summary(uid=2, flags=())]
    payloads = received_payloads("INBOX", summaries)
    assert payloads == [received_payload("INBOX", summary) for summary in summaries]

    def plain(value):
        if value is None:
            return None
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()

    first = summaries[0]
    expected = {"folder": "INBOX", **{field.name: getattr(first, field.name) for field in fields(MessageSummary)}}
    expected.update(flags=list(first.flags), internal_date=plain(when), date=plain(when))
    assert payloads[0] == expected
    assert list(payloads[0]) == list(expected)  # the same keys in the same order: the same JSON text
    assert payloads[1]["flags"] == []
