"""Slows down repeated failed logins without handing anyone a way to lock others out.

Failures are counted against three kinds of keys, each with its own free attempts and its own
cap on the wait (what an attacker can and cannot do with them: ``docs/security.md``):

* ``pair:<name>:<address>``: one user name from one client address. The real limit on guessing:
  after ``HOSTAPP_LOGIN_FREE_ATTEMPTS`` failures each further one doubles the wait, up to
  ``HOSTAPP_LOGIN_MAX_WAIT_SECONDS``. A successful login clears it.
* ``addr:<address>``: every name from one client address (one attacker trying many names).
  Same doubling after ``HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS`` failures. A successful login
  does *not* clear it, so logging in to one's own account between guesses buys nothing.
* ``name:<name>``: one user name from anywhere (guessing from many addresses). After
  ``HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_NAME`` failures the name waits, but never longer than
  ``HOSTAPP_LOGIN_NAME_MAX_WAIT_SECONDS`` (a short delay), and never on a device the user has
  logged in from before (:mod:`hostapp.known_devices`).

Every key forgets its failures once none has come for ``HOSTAPP_LOGIN_WINDOW_SECONDS``; such rows
are deleted now and then (:func:`expire_old_rows`). User names are stored as keyed hashes: the
table never holds what people typed (a password typed into the name field, say), and its keys
have a fixed length whatever was sent.

State is in the database, so every process of the host counts the same failures.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from .extensions import db
from .models import LoginThrottle, utcnow

#: How often (seconds) one process deletes expired rows at most.
EXPIRY_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    """One key an attempt counts against: its free failures and the longest wait it can cause."""

    key: str
    free: int
    max_wait: int


def name_digest(name: str) -> str:
    """A fixed-length keyed hash of a (normalised) name or address typed by a visitor."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    normalised = name.strip().lower().encode("utf-8", "surrogatepass")
    return hmac.new(secret, b"throttle:" + normalised, hashlib.sha256).hexdigest()[:40]


def address_key(remote_addr: str | None) -> str:
    # An address is at most 45 characters (IPv6 with an IPv4 tail); anything else is cut.
    return (remote_addr or "unknown")[:64]


def login_limits(username: str, remote_addr: str | None, *, known_device: bool) -> list[Limit]:
    """The keys one login attempt counts against. A device the user logged in from before is
    held up neither by the name's key (others can fill it from anywhere) nor by the address's
    key (others behind the same address can fill it); its own guessing is still limited by the
    pair of name and address."""
    config = current_app.config
    cap = config["HOSTAPP_LOGIN_MAX_WAIT_SECONDS"]
    name = name_digest(username)
    address = address_key(remote_addr)
    limits = [Limit(f"pair:{name}:{address}", config["HOSTAPP_LOGIN_FREE_ATTEMPTS"], cap)]
    if not known_device:
        limits.append(Limit(f"addr:{address}", config["HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS"], cap))
        limits.append(Limit(f"name:{name}", config["HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_NAME"],
                            min(cap, config["HOSTAPP_LOGIN_NAME_MAX_WAIT_SECONDS"])))
    return limits


def seconds_to_wait(limits: list[Limit]) -> int:
    """How long the client must wait before its next attempt (0: it may try now). One small
    query, no hashing: a refused attempt costs next to nothing."""
    until = db.session.scalar(select(func.max(LoginThrottle.locked_until))
                              .where(LoginThrottle.key.in_([limit.key for limit in limits])))
    if until is None:
        return 0
    return max(0, math.ceil((_aware(until) - utcnow()).total_seconds()))


def record_failure(limits: list[Limit]) -> None:
    """Count a failure against every key; a key whose last failure is older than the window
    starts again from zero."""
    now = utcnow()
    window = timedelta(seconds=current_app.config["HOSTAPP_LOGIN_WINDOW_SECONDS"])
    for limit in limits:
        row = db.session.get(LoginThrottle, limit.key) or LoginThrottle(key=limit.key, failures=0)
        if row.last_failure_at is None or now - _aware(row.last_failure_at) > window:
            row.failures = 0
            row.locked_until = None
        row.failures += 1
        row.last_failure_at = now
        beyond = row.failures - limit.free
        if beyond > 0:
            row.locked_until = now + timedelta(seconds=min(2 ** min(beyond - 1, 30), limit.max_wait))
        db.session.add(row)
    db.session.commit()
    _expire_now_and_then()


def clear(keys: list[str], prefixes: tuple[str, ...] = ()) -> None:
    """Forget the failures of ``keys`` and of every key starting with one of ``prefixes``."""
    conditions = [LoginThrottle.key.in_(keys)] if keys else []
    conditions += [LoginThrottle.key.startswith(prefix, autoescape=True) for prefix in prefixes]
    if conditions:
        db.session.execute(delete(LoginThrottle).where(or_(*conditions)))
        db.session.commit()


def clear_name(username: str) -> None:
    """Forget every failure counted against a user name, from any address (after a password
    reset: the owner has proved who they are)."""
    name = name_digest(username)
    clear([f"name:{name}"], (f"pair:{name}:",))


def expire_old_rows() -> int:
    """Delete the rows that no longer hold anyone back: no failure within the window and no
    wait left. Returns how many went."""
    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["HOSTAPP_LOGIN_WINDOW_SECONDS"])
    result = db.session.execute(delete(LoginThrottle).where(
        or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < cutoff),
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)))
    db.session.commit()
    return result.rowcount or 0


def _expire_now_and_then() -> None:
    state = current_app.extensions.setdefault("hostapp_login_throttle", {"expired_at": 0.0})
    if time.monotonic() - state["expired_at"] >= EXPIRY_INTERVAL_SECONDS:
        state["expired_at"] = time.monotonic()
        expire_old_rows()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

