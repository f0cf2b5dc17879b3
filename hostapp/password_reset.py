"""Password reset by mail: a signed, time-limited link sent as system mail (SPEC S1).

The mail is a Flask-Mail ``Message`` sent with ``mailer.send``, as any Flask host writes it;
tricoma mail queues it in its outbox and sends it with the Mailversand settings (retried until the
server takes it). Its sender is the one the admin set in Mailversand.

The link carries the user's id and a fingerprint of the current password hash, signed with the
app's ``SECRET_KEY``: it expires after :data:`MAX_AGE_SECONDS` and stops working as soon as the
password changes, so it works once. Whether an account exists is never revealed: a request for
an unknown name is answered like any other.

Requests are slowed per typed name or address and per client address with the login throttle's
mechanism (keys ``reset:…``). Free requests: ``HOSTAPP_RESET_FREE_REQUESTS`` (default 3) per
name, ``HOSTAPP_RESET_FREE_REQUESTS_PER_ADDRESS`` (default 10) per client address.
"""
from __future__ import annotations

import hashlib
import hmac
import logging

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mail import Message
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from tricoma_mail_plugin import MailError, system_mail_sender

from . import login_throttle
from .extensions import db, mailer
from .models import User

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 3600
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # hashing a huge password is an easy way to keep the server busy
SALT = "hostapp.password-reset"


class InvalidResetLink(Exception):
    """The link is forged, for an unknown or inactive user, or already used."""


class ExpiredResetLink(InvalidResetLink):
    """The link was genuine but is older than :data:`MAX_AGE_SECONDS`."""


#: The longest name or e-mail address a reset can be asked for; longer ones are refused unread.
MAX_IDENTIFIER_LENGTH = 254


def throttle_keys(identifier: str, remote_addr: str | None) -> list[login_throttle.Limit]:
    """The keys one reset request counts against. The name's key makes anyone wait only a
    short time, as anybody can fill it."""
    config = current_app.config
    cap = config["HOSTAPP_LOGIN_MAX_WAIT_SECONDS"]
    return [
        login_throttle.Limit(f"reset:name:{login_throttle.name_digest(identifier)}",
                             config["HOSTAPP_RESET_FREE_REQUESTS"],
                             min(cap, config["HOSTAPP_LOGIN_NAME_MAX_WAIT_SECONDS"])),
        login_throttle.Limit(f"reset:addr:{login_throttle.address_key(remote_addr)}",
                             config["HOSTAPP_RESET_FREE_REQUESTS_PER_ADDRESS"], cap),
    ]


def find_user(identifier: str) -> User | None:
    """The active user with this user name or e-mail address (case-insensitive); ``None`` if
    there is none, or the address belongs to more than one user."""
    identifier = identifier.strip().lower()
    if not identifier:
        return None
    users = list(db.session.scalars(select(User).where(
        or_(func.lower(User.username) == identifier, func.lower(User.email) == identifier)).limit(3)))
    by_name = [user for user in users if user.username.lower() == identifier]
    if by_name:
        return by_name[0] if by_name[0].active else None
    return users[0] if len(users) == 1 and users[0].active else None


def request_reset(identifier: str) -> None:
    """Send a reset link to the user named by ``identifier``, if there is one with an e-mail
    address. Says nothing about the outcome; a mail that cannot be queued is logged."""
    user = find_user(identifier)
    if user is None or not user.email:
        return
    url = url_for("auth.reset_password", token=make_token(user), _external=True)
    with force_locale(user.language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Reset your password")
        text = _(
            "Hello %(name)s,\n\n"
            "someone (hopefully you) asked to reset the password of your account %(username)s.\n"
            "Open this link within one hour to choose a new password:\n\n"
            "%(url)s\n\n"
            "The link works once. If you did not ask for this, ignore this mail: your password stays "
            "as it is.\n",
            name=user.name, username=user.username, url=url)
    try:
        mailer.send(Message(subject, recipients=[user.email], body=text, sender=system_mail_sender()))
    except MailError as error:
        # Not configured or a bad address: the admin must fix it; the visitor learns nothing.
        log.error("password reset mail for user %s not queued: %s", user.id, error.user_message)


def make_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "password": _fingerprint(user)})


def user_for_token(token: str) -> User:
    """The user a valid, unused, unexpired link is for; raises :class:`InvalidResetLink`."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except SignatureExpired:
        raise ExpiredResetLink() from None
    except BadSignature:
        raise InvalidResetLink() from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int):
        raise InvalidResetLink()
    user = db.session.get(User, data["user"])
    if user is None or not user.active or not hmac.compare_digest(str(data.get("password")), _fingerprint(user)):
        raise InvalidResetLink()
    return user


def password_problem(password: str, repeated: str) -> str | None:
    """What is wrong with a new password, in words for the user; ``None`` if nothing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("The password must have at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)
    if password != repeated:
        return _("The two passwords are not the same.")
    return None


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link (which stops working with it), end every
    session of the user (``User.set_password``) and lift the login throttle of the user's name.
    The caller has checked the password."""
    user = user_for_token(token)
    user.set_password(password)
    db.session.commit()
    login_throttle.clear_name(user.username)
    # Only the keys of the name and address; the client address keys count other people too.
    named = [user.username, *([user.email] if user.email else [])]
    login_throttle.clear([throttle_keys(name, None)[0].key for name in named])
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    # The token is signed, not encrypted: it must not carry the hash itself.
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]
