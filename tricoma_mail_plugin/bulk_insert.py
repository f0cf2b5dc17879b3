"""Many rows into one table in one statement, on the session's connection and transaction.

SQLAlchemy's "insertmanyvalues" writes a batch as one statement of rows × columns placeholders;
psycopg then parses that text in Python on every batch (its query cache holds short statements
only), which cost a 10,000-message sync seconds on PostgreSQL; and an INSERT whose ids must come
back in order ran row by row on SQLite. Here:

- PostgreSQL: one short statement per batch whatever its size, one array parameter per column
  (sent in binary) unnested into rows ``WITH ORDINALITY`` and inserted in that order;
- SQLite: multi-row ``VALUES`` (in-process: one call per 32,000 values);
- any other database: SQLAlchemy's own executemany.

Values go through the columns' bind processors (so ``UtcDateTime``, JSON and the like are stored
exactly as SQLAlchemy stores them) and columns missing from the rows get their Python-side
defaults. Core statement events (``before_cursor_execute``) are not fired for the fast paths.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from json import encoder
from operator import itemgetter
from typing import Any

from sqlalchemy import (JSON, Column, ColumnElement, Integer, String, Table, bindparam, func, insert, literal_column,
                        select)
from sqlalchemy.dialects import postgresql, sqlite

_SQLITE_VARIABLES = 32_000  # below SQLite's default limit (32,766 since 3.32)
_INSERT_IGNORING = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def ignores_duplicates(session) -> bool:
    """Whether the session's database skips a row whose key is there already
    (``ON CONFLICT DO NOTHING``): PostgreSQL and SQLite do."""
    return session.get_bind().dialect.name in _INSERT_IGNORING


def insert_ignoring_duplicates(session, table: Table):
    """An INSERT into ``table`` that skips rows whose key is there already (``ON CONFLICT DO
    NOTHING``); where the database cannot (:func:`ignores_duplicates`), a plain INSERT."""
    dialect_insert = _INSERT_IGNORING.get(session.get_bind().dialect.name)
    return insert(table) if dialect_insert is None else dialect_insert(table).on_conflict_do_nothing()


def insert_rows(session, table: Table, rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool = False,
                returning: Column | None = None) -> list:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys). With
    ``ignore_conflicts``, a row that collides with a unique key is skipped (ON CONFLICT DO
    NOTHING). With ``returning``, the value of that column of every row inserted (a skipped row
    has none), in the order of ``rows`` for an autoincrementing primary key (on SQLite always);
    without, an empty list."""
    if not rows:
        return []
    names = list(rows[0])
    pick = itemgetter(*names)
    values = [list(pick(row)) for row in rows] if len(names) > 1 else [[pick(row)] for row in rows]
    return insert_values(session, table, names, values, ignore_conflicts=ignore_conflicts, returning=returning)


def insert_values(session, table: Table, names: Sequence[str], values: list[list], *,
                  ignore_conflicts: bool = False, returning: Column | None = None) -> list:
    """:func:`insert_rows` for rows given as lists of their values in the order of ``names``
    (column names): no dict per row where the caller makes the values anyway (a sync, thousands
    per batch). The lists are bound in place and belong to this call."""
    if not values:
        return []
    connection = session.connection()
    dialect = connection.dialect
    names = list(names)
    if dialect.name not in ("postgresql", "sqlite"):
        rows = [dict(zip(names, line)) for line in values]
        if ignore_conflicts:
            raise NotImplementedError(f"ON CONFLICT DO NOTHING on {dialect.name}")
        if returning is not None:
            statement = insert(table).returning(returning, sort_by_parameter_order=True)
            return list(session.scalars(statement, rows))
        session.execute(insert(table), rows)
        return []
    defaults = _defaults(table, names)
    columns = [table.c[name] for name in names] + [column for column, _value in defaults]
    _bind_values(dialect, columns, len(names), defaults, values)
    raw = connection.connection.driver_connection
    if dialect.name == "postgresql":
        return _postgresql(raw, table, columns, values, ignore_conflicts, returning, dialect)
    return _sqlite(raw, table, columns, values, ignore_conflicts, returning)


def _defaults(table: Table, names: list[str]) -> list[tuple[Column, Any]]:
    """(column, default) of the columns the rows leave out that have a Python-side default."""
    given = set(names)
    found = []
    for column in table.columns:
        default = column.default
        if column.name in given or default is None or default.is_sequence or default.is_clause_element:
            continue
        found.append((column, default))
    return found


def _bind_values(dialect, columns: list[Column], given_count: int, defaults, values: list[list]) -> None:
    """Bind each row's values (in the order of ``columns``, the first ``given_count`` given) in
    place, as SQLAlchemy would bind them, and add the defaults of the columns after those. A
    callable default is called per row, like SQLAlchemy does; a scalar one is bound once."""
    processors = [_bind_processor(column, dialect) for column in columns]
    given = [(index, process) for index, process in enumerate(processors[:given_count]) if process]
    scalars = [(given_count + offset, default.arg) for offset, (_column, default) in enumerate(defaults)
               if not default.is_callable]
    callables = [(given_count + offset, default.arg) for offset, (_column, default) in enumerate(defaults)
                 if default.is_callable]
    tail = [None] * len(defaults)
    for index, value in scalars:
        process = processors[index]
        tail[index - given_count] = value if process is None else process(value)
    for index, process in given:
        # Column by column; a value that is the same object as the row before's (one time for
        # every row, a flag) is bound once.
        last: Any = _UNSET
        bound = None
        for line in values:
            value = line[index]
            if value is not last:
                last, bound = value, process(value)
            line[index] = bound
    if tail:
        for line in values:
            line.extend(tail)
            for index, make in callables:
                process = processors[index]
                line[index] = make(None) if process is None else process(make(None))


_UNSET = object()


def _bind_processor(column: Column, dialect):
    """The column's bind processor; for a JSON column on SQLite with SQLAlchemy's default
    serializer (``json.dumps``), one that makes the same text with an encoder made once instead
    of one per value (``json.dumps`` makes a new one each call: 3.4 against 1.5 µs for a sync's
    small event payloads, 10,000 per initial sync of 10,000 messages)."""
    process = column.type._cached_bind_processor(dialect)
    if (process is None or dialect.name != "sqlite" or dialect._json_serializer is not None
            or type(column.type) is not JSON or _encode_json is None):  # a subclass may bind otherwise
        return process

    def bind(value):
        if type(value) is dict or type(value) is list:
            return "".join(_encode_json(value, 0))
        return process(value)

    return bind


def _made_json_encoder():
    """``json.dumps``'s C encoder with ``json.dumps``'s default settings, or ``None`` where the
    C accelerator is missing or takes other arguments. Without the circular-reference check (its
    memo would be shared by threads): a payload holding itself fails with RecursionError."""
    try:
        return encoder.c_make_encoder(None, json.JSONEncoder().default, encoder.encode_basestring_ascii, None,
                                      ": ", ", ", False, False, True)
    except TypeError:  # None (no accelerator) or another signature
        return None


_encode_json = _made_json_encoder()


def _column_list(columns: list[Column]) -> str:
    return ", ".join(_quote(column.name) for column in columns)


def _postgresql(raw, table: Table, columns, values, ignore_conflicts: bool, returning, dialect) -> list:
    """One statement: the rows as one array per column (sent in binary), unnested into rows in
    their order (WITH ORDINALITY); ids drawn from a sequence follow that order."""
    names = [_quote(column.name) for column in columns]
    arrays = ", ".join(f"%b::{column.type.compile(dialect=dialect)}[]" for column in columns)
    sql = (f"INSERT INTO {_table_name(table)} ({', '.join(names)}) "
           f"SELECT {', '.join(names)} FROM unnest({arrays}) WITH ORDINALITY AS rows ({', '.join(names)}, ordinal) "
           "ORDER BY ordinal")
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning is not None:
        sql += f" RETURNING {_quote(returning.name)}"
    with raw.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*values)], prepare=False)
        if returning is None:
            return []
        found = [row[0] for row in cursor.fetchall()]
    # RETURNING promises no order; the rows were inserted in ``ordinal`` order, so ascending
    # sequence values are in the order of ``rows``. Other returned values keep the server's order.
    return sorted(found) if _from_sequence(returning) else found


def _from_sequence(column: Column) -> bool:
    return column.primary_key and column.autoincrement in (True, "auto") and column.type._type_affinity is Integer


def _sqlite(raw, table: Table, columns, values, ignore_conflicts: bool, returning) -> list:
    head = f"INSERT INTO {_table_name(table)} ({_column_list(columns)}) VALUES "
    tail = (" ON CONFLICT DO NOTHING" if ignore_conflicts else "") + (
        f" RETURNING rowid, {_quote(returning.name)}" if returning is not None else "")
    row_marks = "(" + ", ".join(["?"] * len(columns)) + ")"
    per_statement = max(1, _SQLITE_VARIABLES // len(columns))
    found: list[tuple] = []
    cursor = raw.cursor()
    try:
        # Never executemany: it lets go of the interpreter lock for every row, and getting it
        # back behind a thread that runs Python (a sync parsing its next batch) cost more than
        # the row (a journaled sync's 10,000 entries and blobs: 0.8 s of the writer's time); a
        # multi-row statement lets go once (the sync 0.15-0.2 s faster, though alone it costs
        # SQLite a little more CPU than executemany).
        for start in range(0, len(values), per_statement):
            chunk = values[start:start + per_statement]
            cursor.execute(head + ", ".join([row_marks] * len(chunk)) + tail,
                           [value for line in chunk for value in line])
            if returning is not None:
                found.extend(cursor.fetchall())
    finally:
        cursor.close()
    # Rows get rowids in the order of VALUES (the writer holds the database's lock); RETURNING
    # itself promises no order.
    found.sort()
    return [value for _rowid, value in found]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_name(table: Table) -> str:
    return _quote(table.name) if table.schema is None else f"{_quote(table.schema)}.{_quote(table.name)}"


def one_of(session, column: Column, values: Sequence) -> ColumnElement[bool]:
    """``column IN values`` for a long list. On PostgreSQL the list is one array parameter (an
    IN of hundreds of parameters is parsed by psycopg in Python on every call), unnested in a
    subquery: the planner then hashes it, where ``= ANY(array)`` compares every row with every
    element when the table's statistics are stale (a fresh archive: 175 ms per 500 at 10,000 rows).
    On SQLite a list of whole numbers or texts is one JSON parameter read by ``json_each``: an IN
    of hundreds of parameters is compiled anew for every length and bound value by value (an
    UPDATE of 500 ids, as a sync's event delivery makes two per batch, takes a third less time)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return column.in_(select(func.unnest(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))))
    values = list(values)
    if dialect == "sqlite" and all(type(value) in _JSON_SCALARS for value in values):
        return column.in_(select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(values), type_=String()))))
    return column.in_(values)


_JSON_SCALARS = frozenset({int, str})  # read back by json_each as the same INTEGER or TEXT
