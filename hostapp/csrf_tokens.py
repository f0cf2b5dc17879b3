"""The request's signed CSRF token, signed once per second and session instead of per request.

Flask-WTF signs the session's raw token for the first form of every request (a serializer
made, a key derived, an HMAC: about 40 µs, a twentieth of a cached reading page). The signature
holds the time in whole seconds, so within one second every request of one session gets the
same string anyway. Before each request of a session that holds a raw token, this module puts
the string this process signed for that session in this second where Flask-WTF keeps the
request's token (``g``); ``generate_csrf`` then finds it, in the host's templates and in the
plugins' alike. The tokens are Flask-WTF's own, made by its ``generate_csrf`` on a miss;
checking a submitted token is untouched.
"""
from __future__ import annotations

import threading
import time

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

_lock = threading.Lock()
_second = 0
_signed: dict[tuple[str, str], str] = {}


def init_app(app: Flask) -> None:
    app.before_request(_fill_signed_token)


def _fill_signed_token() -> None:
    global _second, _signed
    if not session:  # no cookie session: nothing to sign (and the session stays unread)
        return
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    raw = session.get(field)
    if not isinstance(raw, str) or field in g:
        return
    key = (str(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key), raw)
    now = int(time.time())
    with _lock:
        if now != _second:  # a new second: last second's strings would carry an older stamp
            _second, _signed = now, {}
        held = _signed.get(key)
    if held is not None:
        setattr(g, field, held)
        return
    signed = generate_csrf()  # Flask-WTF's own signing, kept in g for this request
    with _lock:
        if now == _second:
            _signed[key] = signed
