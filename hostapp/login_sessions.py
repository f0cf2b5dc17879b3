"""Login sessions the server can end: logout, a password change and an admin's "sign out
everywhere" take effect at the next request, whatever cookie a browser (or a thief) still holds.

Flask's session cookie is signed, not stored: on its own it stays valid as long as it is kept.
So a login also makes a row in ``hostapp_login_session`` and puts a random token in the cookie;
every request's user is loaded only if the row for that token exists, belongs to the same user
and has not timed out. Only a hash of the token is stored, so a copy of the database opens no
session.

Timeouts (both checked on every request):

* ``HOSTAPP_SESSION_IDLE_SECONDS`` (default 7200): no request for that long ends the session;
* ``HOSTAPP_SESSION_MAX_SECONDS`` (default 43200): a session ends this long after the login,
  however busy.

The row is read on every request; only the signature of the cookie that names it is checked once
per process (:class:`CheckedCookieSessions`, the app's Flask session interface).
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

from flask import Flask, Request, current_app, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature
from sqlalchemy import String, bindparam, cast, delete, func, or_, select, update
from sqlalchemy.orm import configure_mappers, make_transient_to_detached

from .extensions import db
from .models import LoginSession, User, group_members, utcnow

SESSION_KEY = "_hostapp_session"
#: ``last_seen_at`` is written at most this often (seconds), not on every request.
TOUCH_INTERVAL_SECONDS = 60
# Built once: a statement made per request costs more than the query itself. Plain columns of
# the tables, not ORM entities: the ORM's way to run a query and load a row costs more than the
# query (the user is made an ORM object below, without it). The user's group ids come as one
# text, not as group rows: one row whatever the number of groups.
_sessions, _users = LoginSession.__table__, User.__table__
_USER_ATTRIBUTES = tuple(User.__mapper__.get_property_by_column(column).key for column in _users.c)
_GROUP_IDS = (select(func.aggregate_strings(cast(group_members.c.group_id, String), ","))
              .where(group_members.c.user_id == _users.c.id).scalar_subquery().label("group_ids"))
_SESSION_WITH_USER = (select(_sessions.c.id, _sessions.c.user_id, _sessions.c.created_at,
                             _sessions.c.last_seen_at, _GROUP_IDS, *_users.c)
                      .join(_users, _users.c.id == _sessions.c.user_id)
                      .where(_sessions.c.token_hash == bindparam("token_hash")))
_USER_VALUES = slice(-len(_users.c), None)  # the user's columns: the last of a row of _SESSION_WITH_USER


def start(user_id: int) -> None:
    """Open a server-side session for ``user_id`` and put its token in the cookie session.
    Called when Flask-Login logs a user in; drops expired rows on the way."""
    _drop_expired()
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token_hash=_hash(token), user_id=user_id))
    db.session.commit()
    session[SESSION_KEY] = token


def current_user(claimed_user_id: int) -> User | None:
    """The user of the request's session, with its group ids, if the session is still open on the
    server and belongs to ``claimed_user_id`` (what Flask-Login found in the cookie); ``None``
    otherwise, and the cookie's claim is dropped. One query: every page asks."""
    token = session.get(SESSION_KEY)
    row = db.session.execute(_SESSION_WITH_USER, {"token_hash": _hash(token)}).first() \
        if isinstance(token, str) else None
    if row is None or row.user_id != claimed_user_id:
        _forget_in_cookie()
        return None
    now = utcnow()
    if _expired(row, now):
        db.session.execute(delete(LoginSession).where(LoginSession.id == row.id))
        db.session.commit()
        _forget_in_cookie()
        return None
    if (now - _aware(row.last_seen_at)).total_seconds() >= _touch_interval():
        db.session.execute(update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    user = _user_in_session(row.user_id, row[_USER_VALUES])
    group_ids = row.group_ids
    user.keep_group_ids_read(frozenset(int(each) for each in group_ids.split(",")) if group_ids else frozenset())
    return user


def _user_in_session(user_id: int, values) -> User:
    """User ``user_id`` with ``values`` (its columns, in table order) as a row of the request's
    database session, as a query of the entity would load it (no SQL): changes to it are saved
    by the next commit, its groups load when asked. A user the session holds already is that
    object, as a query would answer too. What a query's load would add is skipped: should User
    get a mutable-tracked column or a ``load`` event listener, load it with a query instead."""
    mapper = User.__mapper__
    if not mapper.configured:
        # A query configures the mappers first; a new process's first request may come here
        # before any query did, and without it the user's attributes have no loaders yet.
        configure_mappers()
    held = db.session.identity_map.get(mapper.identity_key_from_primary_key((user_id,)))
    if held is not None:
        return held
    user = mapper.class_manager.new_instance()
    user.__dict__.update(zip(_USER_ATTRIBUTES, values))  # loaded values, as the ORM's loader sets them
    make_transient_to_detached(user)
    db.session.add(user)
    return user


def end_current() -> None:
    """End the request's session (logout)."""
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))
        db.session.commit()


def end_all(user_id: int) -> int:
    """End every session of ``user_id`` ("sign out everywhere"); returns how many there were."""
    result = db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    db.session.commit()
    return result.rowcount or 0


def open_counts() -> dict[int, int]:
    """Open sessions per user id (for the admin's overview)."""
    _drop_expired()
    rows = db.session.execute(select(LoginSession.user_id, func.count()).group_by(LoginSession.user_id))
    return {user_id: count for user_id, count in rows}


def _drop_expired() -> None:
    now = utcnow()
    config = current_app.config
    db.session.execute(delete(LoginSession).where(or_(
        LoginSession.created_at < now - timedelta(seconds=config["HOSTAPP_SESSION_MAX_SECONDS"]),
        LoginSession.last_seen_at < now - timedelta(seconds=config["HOSTAPP_SESSION_IDLE_SECONDS"]))))
    db.session.commit()


def _expired(row, now: datetime) -> bool:
    config = current_app.config
    return (now - _aware(row.created_at) > timedelta(seconds=config["HOSTAPP_SESSION_MAX_SECONDS"])
            or now - _aware(row.last_seen_at) > timedelta(seconds=config["HOSTAPP_SESSION_IDLE_SECONDS"]))


def _touch_interval() -> float:
    # A short idle timeout (a test's, say) must not be outrun by the saved writes.
    return min(TOUCH_INTERVAL_SECONDS, current_app.config["HOSTAPP_SESSION_IDLE_SECONDS"] / 4)


def _forget_in_cookie() -> None:
    session.pop(SESSION_KEY, None)
    session.pop("_user_id", None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the signed cookie ---------------------------------------------------------------------------


class CheckedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, each cookie's signature checked once per process.

    A browser sends the same cookie with every request until the session changes, and checking
    it (a serializer made, a key derived, an HMAC, the payload inflated and parsed) costs about
    as much as a small query. A cookie whose signature was good is remembered with the time it
    was signed and what it holds; when it comes again only its age is checked, against the same
    limit as Flask's. Remembered under the secret keys it was checked with, so a new key checks
    again. Only cookies whose values are plain (text, numbers, flags) are remembered: a request
    that changes a list in its session (flashed messages) must not change what the next one reads.
    """

    #: cookies remembered per process before the memory starts again
    MAX_COOKIES = 10_000

    def __init__(self) -> None:
        self._checked: dict[tuple, tuple[int, dict]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie or not app.secret_key:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (cookie, app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))  # fallbacks: Flask 3.1+
        held = self._checked.get(key)
        if held is not None and 0 <= int(time.time()) - held[0] <= max_age:
            return self.session_class(held[1])
        try:
            data, signed_at = self.get_signing_serializer(app).loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(isinstance(value, (str, int, float, type(None))) for value in data.values()):
            if len(self._checked) >= self.MAX_COOKIES:
                self._checked.clear()
            self._checked[key] = (int(signed_at.timestamp()), data)
        return self.session_class(data)
