"""Unsubscribing from bulk mail (RFC 8058 one-click): the signed token each recipient's link
carries, the opt-out it records, and the check later bulk sends make.

The token names the mailbox, the list and the address, signed with the app's secret key: the
link works without a login and cannot be changed to unsubscribe someone else.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..errors import InvalidSettings
from ..models import Mailbox, OptOut

SALT = "tricoma-mail-unsubscribe"
UNSUBSCRIBE_ENDPOINT = "tricoma_mail_unsubscribe.one_click"
MAX_LIST_KEY = 100


@dataclass(frozen=True)
class Subscription:
    """What one unsubscribe link names: an address on a list of a mailbox's bulk mail."""

    mailbox_id: int
    list_key: str
    address: str


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(subscription: Subscription) -> str:
    return _serializer().dumps([subscription.mailbox_id, subscription.list_key, subscription.address])


def subscription_of(token: str) -> Subscription | None:
    """The subscription a valid token names (of a mailbox that still exists), else ``None``."""
    try:
        mailbox_id, list_key, address = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    mailbox = mail_state().db.session.get(Mailbox, mailbox_id) if isinstance(mailbox_id, int) else None
    if mailbox is None or mailbox.deleted_at is not None:
        return None
    return Subscription(mailbox_id, str(list_key), str(address))


def unsubscribe_url(subscription: Subscription) -> str:
    """The absolute one-click URL for ``subscription``: under ``TRICOMA_MAIL_PUBLIC_URL``, or the
    address of the current request."""
    token = token_for(subscription)
    base = current_app.config.get("TRICOMA_MAIL_PUBLIC_URL")
    if base:
        scheme, _sep, rest = str(base).rstrip("/").partition("://")
        host, _slash, script = rest.partition("/")
        adapter = current_app.url_map.bind(host, script_name="/" + script, url_scheme=scheme)
        return adapter.build(UNSUBSCRIBE_ENDPOINT, {"token": token}, force_external=True)
    if not has_request_context():
        raise InvalidSettings("TRICOMA_MAIL_PUBLIC_URL is needed to send bulk mail outside a request.")
    return url_for(UNSUBSCRIBE_ENDPOINT, token=token, _external=True)


def opt_out(subscription: Subscription) -> None:
    """Record that the address wants no more mail of the list (again: nothing changes)."""
    session = mail_state().db.session
    if not is_opted_out(subscription.mailbox_id, subscription.list_key, subscription.address):
        session.add(OptOut(mailbox_id=subscription.mailbox_id, list_key=subscription.list_key,
                           address=subscription.address.lower()))
        try:
            session.commit()
        except IntegrityError:  # two clicks at once: the other one recorded it
            session.rollback()


def is_opted_out(mailbox_id: int, list_key: str, address: str) -> bool:
    return mail_state().db.session.scalar(
        select(OptOut.id).where(OptOut.mailbox_id == mailbox_id, OptOut.list_key == list_key,
                                OptOut.address == address.lower())) is not None
