""""Always show remote images from this sender": the senders each user trusts, one row per user
and address in the database, so every web process on every host (and every browser of the
user) knows them."""
from __future__ import annotations

from flask import has_request_context
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..cache_versions import forget_versions, versioned_cache
from ..models import TrustedSender

MAX_SENDERS = 500


def _session():
    return mail_state().db.session


def trusted_senders(user_id: str) -> list[str]:
    """The addresses (lower-case) whose remote images ``user_id`` always shows."""
    return list(_session().scalars(select(TrustedSender.address).where(TrustedSender.user_id == str(user_id))
                                   .order_by(TrustedSender.id)))


def is_trusted(user_id: str, address: str | None) -> bool:
    """Whether ``user_id`` trusts ``address``. In a request, each web process remembers a user's
    senders under the version of the trusted senders (``cache_versions``), which every change
    moves: the reading page and its body frame both ask."""
    if not address:
        return False
    user_id, address = str(user_id), address.lower()
    if has_request_context():
        return address in versioned_cache().get_or_load(
            "senders", user_id, lambda: frozenset(trusted_senders(user_id)))
    return _session().scalar(select(TrustedSender.id).where(
        TrustedSender.user_id == user_id, TrustedSender.address == address)) is not None


def set_trusted(user_id: str, address: str, trusted: bool) -> None:
    """Trust ``address`` for ``user_id`` (or no longer). Keeps the newest :data:`MAX_SENDERS`."""
    try:
        _set_trusted(user_id, address, trusted)
    finally:
        forget_versions()  # the rest of this request asks the database again


def _set_trusted(user_id: str, address: str, trusted: bool) -> None:
    session = _session()
    address = address.lower()[:320]
    user_id = str(user_id)
    if not trusted:
        session.execute(delete(TrustedSender).where(TrustedSender.user_id == user_id,
                                                    TrustedSender.address == address))
        session.commit()
        return
    if is_trusted(user_id, address):
        return
    session.add(TrustedSender(user_id=user_id, address=address))
    try:
        session.commit()
    except IntegrityError:  # the same click from another tab, a moment earlier
        session.rollback()
        return
    oldest = list(session.scalars(select(TrustedSender.id).where(TrustedSender.user_id == user_id)
                                  .order_by(TrustedSender.id.desc()).offset(MAX_SENDERS)))
    if oldest:
        session.execute(delete(TrustedSender).where(TrustedSender.id.in_(oldest)))
        session.commit()
