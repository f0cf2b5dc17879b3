"""``UtcDateTime`` on SQLite writes the very text SQLAlchemy's own DATETIME writes (its fast bind
makes it with ``datetime.isoformat``): stored times keep sorting and reading back as before."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import postgresql

from tricoma_mail_plugin.models import UtcDateTime

_VALUES = [
    datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc),
    datetime(2026, 3, 1, 12, 30, 15, tzinfo=timezone.utc),  # no microseconds: still six digits
    datetime(2026, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))),  # the day before in UTC
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),  # a year of one digit: padded to four
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
    datetime(2026, 7, 4, 8, 9, 10, 11),  # naive: taken as UTC
]

_SQLITE = create_engine("sqlite://").dialect  # pysqlite's, as the host's engine has


def _sqlalchemys(value):
    """What SQLAlchemy's SQLite DATETIME writes for ``value`` after the UTC conversion."""
    dialect = _SQLITE
    converted = UtcDateTime().process_bind_param(value, dialect)
    return DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)(converted)


def test_the_sqlite_text_is_sqlalchemys():
    process = UtcDateTime().dialect_impl(_SQLITE).bind_processor(_SQLITE)  # as a statement binds
    for value in _VALUES:
        assert process(value) == _sqlalchemys(value), value
    assert process(None) is None
    assert process(_VALUES[2]) == "2026-02-28 22:00:00.000000"


def test_a_stored_time_reads_back_as_the_same_time_and_sorts_by_time():
    engine = create_engine("sqlite://")
    table = Table("times", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": n, "at": value} for n, value in enumerate(_VALUES)])
        stored = dict(connection.execute(select(table.c.id, table.c.at)).all())
        ordered = connection.scalars(select(table.c.id).order_by(table.c.at)).all()
    expected = [value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc) for value in _VALUES]
    assert [stored[n] for n in range(len(_VALUES))] == expected
    assert ordered == sorted(range(len(_VALUES)), key=lambda n: expected[n])


def test_other_databases_keep_sqlalchemys_binding():
    value = _VALUES[2]
    process = UtcDateTime().dialect_impl(postgresql.dialect()).bind_processor(postgresql.dialect())
    bound = process(value) if process is not None else UtcDateTime().process_bind_param(value, postgresql.dialect())
    assert bound == value and bound.tzinfo is timezone.utc
