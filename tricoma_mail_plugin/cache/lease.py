"""Who syncs a mailbox right now: a short lease in the database, renewed by a heartbeat while
the sync runs. One sync per mailbox at a time, in any process; a holder that died (killed,
crashed, its machine gone) stops renewing, and its lease runs out within
``TRICOMA_MAIL_SYNC_LEASE_SECONDS``, so the next sync takes over instead of waiting an hour."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError

from .._state import mail_state
from ..errors import SyncBusy
from ..models import Mailbox, utcnow

log = logging.getLogger(__name__)

WAIT_STEP_SECONDS = 0.2
_held = threading.local()  # .mailbox_ids: the mailboxes whose sync lease this thread holds


def lease_seconds() -> int:
    return int(current_app.config["TRICOMA_MAIL_SYNC_LEASE_SECONDS"])


def take_sync_lease(mailbox_id: int, seconds: int | None = None) -> bool:
    """Claim the right to sync a mailbox for ``seconds``; False when a live holder has it."""
    session = mail_state().db.session
    now = utcnow()
    result = session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id,
               or_(Mailbox.sync_lease_until.is_(None), Mailbox.sync_lease_until < now))
        .values(sync_lease_until=now + timedelta(seconds=seconds or lease_seconds()))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def release_sync_lease(mailbox_id: int) -> None:
    session = mail_state().db.session
    session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(sync_lease_until=None)
                    .execution_options(synchronize_session=False))
    session.commit()


def holds_sync_lease(mailbox_id: int) -> bool:
    """Whether this thread runs inside :func:`sync_lease` of the mailbox: then no other sync of
    it runs, and the next one starts only after this one ended or lost its lease."""
    return mailbox_id in getattr(_held, "mailbox_ids", ())


def lease_is_free(mailbox_id: int) -> bool:
    until = mail_state().db.session.get(Mailbox, mailbox_id).sync_lease_until
    return until is None or until < utcnow()


class Heartbeat:
    """A daemon thread that renews a held lease every third of its length, on a connection of
    its own (the sync's session may be in the middle of a transaction)."""

    def __init__(self, engine, mailbox_id: int, seconds: int) -> None:
        self._engine, self._mailbox_id, self._seconds = engine, mailbox_id, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tricoma-mail-lease-{mailbox_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self._seconds)

    def _run(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                with self._engine.begin() as connection:
                    connection.execute(update(Mailbox).where(Mailbox.id == self._mailbox_id)
                                       .values(sync_lease_until=utcnow() + timedelta(seconds=self._seconds)))
            except SQLAlchemyError:  # the database is busy or gone: try again at the next beat
                log.warning("could not renew the sync lease of mailbox %s", self._mailbox_id, exc_info=True)


@contextmanager
def sync_lease(mailbox_id: int, wait: float = 0) -> Iterator[None]:
    """Hold the mailbox's sync lease for the block, renewed while it runs. Waits up to ``wait``
    seconds for another holder to finish; raises :class:`SyncBusy` when it does not."""
    seconds = lease_seconds()
    deadline = time.monotonic() + wait
    while not take_sync_lease(mailbox_id, seconds):
        if time.monotonic() >= deadline:
            raise SyncBusy()
        time.sleep(WAIT_STEP_SECONDS)
    held = getattr(_held, "mailbox_ids", None)
    if held is None:
        held = _held.mailbox_ids = set()
    held.add(mailbox_id)
    try:
        with Heartbeat(mail_state().db.engine, mailbox_id, seconds):
            yield
    finally:
        held.discard(mailbox_id)
        mail_state().db.session.rollback()
        release_sync_lease(mailbox_id)
