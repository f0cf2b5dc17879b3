"""Provisioning as a job with a visible state: the mailbox row says ``provisioning`` until the
hosting stack answers, then ``active`` (IMAP login proven) or ``failed`` with the reason.

The embedded default runs each job in a background thread of the portal process."""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .extensions import db
from .hosting_access import hosting_stack
from .models import (
    MAILBOX_ACTIVE,
    MAILBOX_FAILED,
    MAILBOX_PROVISIONING,
    Mailbox,
    utcnow,
)

log = logging.getLogger(__name__)
_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def start(mailbox_id: int, password: str | None = None) -> threading.Thread:
    """Provision the (committed) mailbox in the background; with ``password`` the stack proves
    a login with it. The thread is returned for tests."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run, args=(app, mailbox_id, password), daemon=True,
                              name=f"portal-provision-{mailbox_id}")
    with _running_lock:
        _running.add(thread)
    thread.start()
    return thread


def wait_all(timeout: float) -> bool:
    """Wait until every started job has finished (a CLI must not exit under them)."""
    deadline = time.monotonic() + timeout
    with _running_lock:
        threads = list(_running)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)


def _run(app: Flask, mailbox_id: int, password: str | None) -> None:
    with app.app_context():
        try:
            with force_locale(_tenant_language(mailbox_id)):  # the reason is shown to the customer
                provision(mailbox_id, password)
        finally:
            db.session.remove()
            with _running_lock:
                _running.discard(threading.current_thread())


def _tenant_language(mailbox_id: int) -> str:
    mailbox = db.session.get(Mailbox, mailbox_id)
    return (mailbox.tenant.language if mailbox is not None else None) or "de"


def provision(mailbox_id: int, password: str | None = None) -> None:
    """Make the mailbox live and record the outcome on its row."""
    try:
        stack = hosting_stack()
        if stack is None:
            raise RuntimeError(_("No hosting stack is configured for this portal."))
        stack.activate_mailbox(mailbox_id, password=password)
    except Exception as error:  # noqa: BLE001  (any failure is the job's visible outcome)
        log.warning("provisioning mailbox %s failed: %s", mailbox_id, error)
        _record(mailbox_id, MAILBOX_FAILED, str(error) or error.__class__.__name__)
    else:
        _record(mailbox_id, MAILBOX_ACTIVE, None)


def _record(mailbox_id: int, state: str, reason: str | None) -> None:
    db.session.expire_all()
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.state not in (MAILBOX_PROVISIONING, MAILBOX_ACTIVE,
                                                MAILBOX_FAILED):
        return  # deleted, or in its grace period meanwhile
    mailbox.state, mailbox.failure_reason = state, reason
    mailbox.active = 1 if state == MAILBOX_ACTIVE else 0
    if state == MAILBOX_ACTIVE:
        mailbox.activated_at = mailbox.activated_at or utcnow()
    db.session.commit()
