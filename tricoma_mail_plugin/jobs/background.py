"""Background work inside the host process (the default; X2): daemon threads that sync every
usable mailbox on a schedule and send what waits in the outbox. With several processes, each
mailbox is synced by one at a time (a lease in the database), and outbox leases make sure no
mail leaves twice."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Callable

from flask import Flask
from sqlalchemy import or_, select, update

from .._state import mail_state
from ..cache.refresh import run_sync
from ..errors import MailError
from ..models import Mailbox, utcnow
from ..sending.outbox import run_once

log = logging.getLogger(__name__)


def take_sync_lease(mailbox_id: int, seconds: int) -> bool:
    """Claim the right to sync a mailbox for ``seconds``; False when another process holds it."""
    session = mail_state().db.session
    now = utcnow()
    result = session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id,
               or_(Mailbox.sync_lease_until.is_(None), Mailbox.sync_lease_until < now))
        .values(sync_lease_until=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def release_sync_lease(mailbox_id: int) -> None:
    session = mail_state().db.session
    session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(sync_lease_until=None)
                    .execution_options(synchronize_session=False))
    session.commit()


def sync_due_mailboxes(lease_seconds: int = 600) -> int:
    """Sync every usable mailbox whose lease is free. Returns how many were synced."""
    session = mail_state().db.session
    ids = list(session.scalars(select(Mailbox.id).where(
        Mailbox.deleted_at.is_(None), Mailbox.last_test_ok.is_(True)).order_by(Mailbox.id)))
    synced = 0
    for mailbox_id in ids:
        if not take_sync_lease(mailbox_id, lease_seconds):
            continue
        try:
            run_sync(session.get(Mailbox, mailbox_id))
            synced += 1
        except MailError as error:
            log.warning("sync of mailbox %s failed: %s", mailbox_id, error.user_message)
        finally:
            session.rollback()
            release_sync_lease(mailbox_id)
    return synced


def sync_soon(app: Flask, mailbox_id: int) -> bool:
    """Sync one mailbox now in a thread of this process (e.g. the first time someone opens it),
    unless another process holds its lease. True when a sync was started."""
    if not take_sync_lease(mailbox_id, 3600):
        return False

    def run() -> None:
        with app.app_context():
            session = mail_state().db.session
            try:
                run_sync(session.get(Mailbox, mailbox_id))
            except MailError as error:
                log.warning("sync of mailbox %s failed: %s", mailbox_id, error.user_message)
            except Exception:  # noqa: BLE001 - a thread must not die silently
                log.exception("sync of mailbox %s failed", mailbox_id)
            finally:
                session.rollback()
                release_sync_lease(mailbox_id)

    threading.Thread(target=run, name=f"tricoma-mail-sync-{mailbox_id}", daemon=True).start()
    return True


class PeriodicTask:
    """A daemon thread that calls ``task()`` in an app context every ``interval`` seconds."""

    def __init__(self, app: Flask, interval: float, task: Callable[[], object], name: str) -> None:
        self._app = app
        self._interval = interval
        self._task = task
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._app.app_context():
                    self._task()
            except Exception:  # noqa: BLE001 - the loop must survive any single failure
                log.exception("background task %s failed", self._name)
            self._stop.wait(self._interval)


def start_background_work(app: Flask) -> list[PeriodicTask]:
    """Start the sync and outbox threads the config asks for (an interval of 0: none)."""
    tasks = []
    config = app.config
    if config["TRICOMA_MAIL_SYNC_INTERVAL"]:
        tasks.append(PeriodicTask(app, config["TRICOMA_MAIL_SYNC_INTERVAL"], sync_due_mailboxes,
                                  "tricoma-mail-sync"))
    if config["TRICOMA_MAIL_OUTBOX_POLL_SECONDS"]:
        tasks.append(PeriodicTask(app, config["TRICOMA_MAIL_OUTBOX_POLL_SECONDS"], run_once,
                                  "tricoma-mail-outbox"))
    for task in tasks:
        task.start()
    return tasks
