"""The background purge of mailboxes whose grace period is over, every
``TRICOMA_PORTAL_PURGE_INTERVAL`` seconds (``flask --app tricoma_portal purge-expired`` runs it
once)."""
from __future__ import annotations

import logging
import threading

from flask import Flask

from . import mailboxes
from .extensions import db

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.extensions["tricoma_portal.purge_stop"] = threading.Event()


def start(app: Flask) -> threading.Thread | None:
    """Start the periodic purge (the serving process calls this, not every app instance)."""
    interval = float(app.config["TRICOMA_PORTAL_PURGE_INTERVAL"])
    if interval <= 0:
        return None
    stop = app.extensions["tricoma_portal.purge_stop"]
    thread = threading.Thread(target=_loop, args=(app, stop, interval), daemon=True,
                              name="portal-purge")
    thread.start()
    return thread


def _loop(app: Flask, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        with app.app_context():
            try:
                purged = mailboxes.purge_expired()
                if purged:
                    log.info("purged %d mailboxes after their grace period", len(purged))
            except Exception:
                log.exception("purging expired mailboxes failed")
            finally:
                db.session.remove()
