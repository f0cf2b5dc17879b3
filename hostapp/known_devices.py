"""Devices a user has logged in from before: a signed cookie that lets the real user past the
limit that anyone can fill for a user name (:mod:`hostapp.login_throttle`).

The cookie holds a keyed hash of each user name that logged in successfully from this browser
(the latest ten), signed with the app's ``SECRET_KEY`` and valid for
``HOSTAPP_KNOWN_DEVICE_DAYS`` (default 180; each login renews it). It only exists after a
successful login, so it cannot be made without the password; it is sent only to the login page.
"""
from __future__ import annotations

from flask import Response, current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .login_throttle import name_digest
from .transport_security import cookies_secure

COOKIE_NAME = "hostapp_device"
SALT = "hostapp.known-device"
MAX_NAMES = 10


def is_known(username: str) -> bool:
    """Whether this browser has logged in as ``username`` before."""
    return name_digest(username) in _names_in_cookie()


def remember(response: Response, username: str) -> None:
    """Mark the browser as a device of ``username`` (after a successful login)."""
    digest = name_digest(username)
    names = [digest, *(name for name in _names_in_cookie() if name != digest)][:MAX_NAMES]
    days = current_app.config["HOSTAPP_KNOWN_DEVICE_DAYS"]
    response.set_cookie(COOKIE_NAME, _serializer().dumps(names), max_age=days * 86400,
                        path=url_for("auth.login"), secure=cookies_secure(), httponly=True,
                        samesite="Lax")


def _names_in_cookie() -> list[str]:
    value = request.cookies.get(COOKIE_NAME)
    if not value or len(value) > 4096:
        return []
    max_age = current_app.config["HOSTAPP_KNOWN_DEVICE_DAYS"] * 86400
    try:
        names = _serializer().loads(value, max_age=max_age)
    except BadSignature:  # forged, from another installation, or too old
        return []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)
