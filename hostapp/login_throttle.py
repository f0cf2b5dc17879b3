"""Slows down repeated failed logins, per user name and per client address.

State is in the database, so every process of the host counts the same failures. After a few
free attempts each further failure doubles the wait, up to a cap.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from flask import current_app

from .extensions import db
from .models import LoginThrottle, utcnow


def throttle_keys(username: str, remote_addr: str | None) -> dict[str, int]:
    """The keys one login attempt counts against, with the free attempts of each."""
    config = current_app.config
    return {
        f"user:{username.strip().lower()}": config["HOSTAPP_LOGIN_FREE_ATTEMPTS"],
        f"addr:{remote_addr or 'unknown'}": config["HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS"],
    }


def seconds_to_wait(keys: dict[str, int]) -> int:
    """How long the client must wait before its next attempt (0: it may try now)."""
    now = utcnow()
    wait = 0.0
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None:
            wait = max(wait, (_aware(row.locked_until) - now).total_seconds())
    return math.ceil(wait)


def record_failure(keys: dict[str, int]) -> None:
    cap = current_app.config["HOSTAPP_LOGIN_MAX_WAIT_SECONDS"]
    for key, free_attempts in keys.items():
        row = db.session.get(LoginThrottle, key) or LoginThrottle(key=key, failures=0)
        row.failures += 1
        beyond = row.failures - free_attempts
        if beyond > 0:
            row.locked_until = utcnow() + timedelta(seconds=min(2 ** (beyond - 1), cap))
        db.session.add(row)
    db.session.commit()


def reset(keys: dict[str, int]) -> None:
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is not None:
            db.session.delete(row)
    db.session.commit()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
