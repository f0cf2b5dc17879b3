"""The accessor of the extension's per-app state. It imports nothing else of core, so every
service can reach the database and the hooks without importing the extension (which imports
the services)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app

EXTENSION_KEY = "tricoma_mail"


def mail_state(app: Flask | None = None) -> Any:
    """The extension's state of ``app`` (default: the current app): the
    :class:`~tricoma_mail_plugin.extension.MailState` that ``init_app`` stored."""
    return (app or current_app).extensions[EXTENSION_KEY]


def db_session():
    """The database session of the current app: the host's Flask-SQLAlchemy session, which
    core and every plugin share (so a plugin's rows commit with core's)."""
    return mail_state().db.session


def concurrent_writers() -> bool:
    """Whether two connections to the app's database write at the same time (PostgreSQL),
    rather than one after the other (SQLite holds one write lock for the whole file: a second
    writer waiting on the first, which waits on it, never ends)."""
    return mail_state().db.session.get_bind().dialect.name != "sqlite"


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Roll the database session back when the block raises: a service that refuses a value
    half-way through has set fields before it, and none of that may be committed later."""
    try:
        yield
    except BaseException:
        mail_state().db.session.rollback()
        raise
