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
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, session
from sqlalchemy import String, bindparam, cast, delete, func, or_, select, update

from .extensions import db
from .models import LoginSession, User, group_members, utcnow

SESSION_KEY = "_hostapp_session"
#: ``last_seen_at`` is written at most this often (seconds), not on every request.
TOUCH_INTERVAL_SECONDS = 60
# Built once: a statement made per request costs more than the query itself. The session's
# columns (no row object to track) and the user with its group ids as one text, not its group
# rows: one row whatever the number of groups.
_GROUP_IDS = (select(func.aggregate_strings(cast(group_members.c.group_id, String), ","))
              .where(group_members.c.user_id == User.id).scalar_subquery())
_SESSION_WITH_USER = (select(LoginSession.id, LoginSession.user_id, LoginSession.created_at,
                             LoginSession.last_seen_at, User, _GROUP_IDS)
                      .join(User, User.id == LoginSession.user_id)
                      .where(LoginSession.token_hash == bindparam("token_hash")))


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
    user, group_ids = row[-2], row[-1]
    user.keep_group_ids_read(frozenset(int(each) for each in group_ids.split(",")) if group_ids else frozenset())
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
