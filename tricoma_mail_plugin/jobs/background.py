"""Background work inside the host process (the default; X2): daemon threads that sync every
usable mailbox on a schedule and send what waits in the outbox. With several processes, each
mailbox is synced by one at a time (:mod:`cache.lease`), and outbox leases make sure no mail
leaves twice."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from flask import Flask
from sqlalchemy import select

from .._state import mail_state
from ..cache.lease import lease_is_free
from ..cache.refresh import run_sync
from ..errors import MailError, SyncBusy
from ..models import Mailbox
from ..sending.outbox import run_once

log = logging.getLogger(__name__)


def sync_due_mailboxes() -> int:
    """Sync every usable mailbox no other process is syncing. Returns how many were synced."""
    session = mail_state().db.session
    ids = list(session.scalars(select(Mailbox.id).where(
        Mailbox.deleted_at.is_(None), Mailbox.last_test_ok.is_(True)).order_by(Mailbox.id)))
    synced = 0
    for mailbox_id in ids:
        try:
            run_sync(session.get(Mailbox, mailbox_id))
            synced += 1
        except SyncBusy:
            continue
        except MailError as error:
            log.warning("sync of mailbox %s failed: %s", mailbox_id, error.user_message)
        finally:
            session.rollback()
    return synced


def sync_soon(app: Flask, mailbox_id: int) -> bool:
    """Sync one mailbox now in a thread of this process (e.g. the first time someone opens it),
    unless another process is syncing it. True when a sync was started."""
    if not lease_is_free(mailbox_id):
        return False

    def run() -> None:
        with app.app_context():
            session = mail_state().db.session
            try:
                run_sync(session.get(Mailbox, mailbox_id))
            except SyncBusy:
                pass  # another process got there first
            except MailError as error:
                log.warning("sync of mailbox %s failed: %s", mailbox_id, error.user_message)
            finally:
                session.rollback()

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
