"""Per-customer API tokens for integrations (the ERP): shown once, stored as a SHA-256 hash,
read-only, revocable. Each token gets its own app password per mailbox, which the API hands
out and which dies with the token."""
from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from . import secret_box
from .errors import Conflict, InvalidInput
from .extensions import db
from .hosting import passwords as mailbox_passwords
from .models import ApiToken, AppPassword, Mailbox, utcnow

TOKEN_PREFIX = "tpt_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tenant_tokens(tenant_id: int) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.tenant_id == tenant_id).order_by(ApiToken.id.desc())
    ))


def create_token(tenant_id: int, user_id: int, label: str) -> tuple[ApiToken, str]:
    """A new token; the plain token is returned once and never stored."""
    label = (label or "").strip()
    if not label or len(label) > 200:
        raise InvalidInput(_("Please name the integration the token is for."))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(tenant_id=tenant_id, label=label, prefix=plain[:12],
                     token_hash=_digest(plain), created_by_id=user_id)
    db.session.add(token)
    db.session.commit()
    return token, plain


def revoke_token(token: ApiToken) -> None:
    """The token stops working at once, and so do the app passwords it was given."""
    if token.revoked_at is not None:
        raise Conflict(_("This token was revoked already."))
    token.revoked_at = utcnow()
    for app_password in db.session.scalars(
            select(AppPassword).where(AppPassword.api_token_id == token.id)):
        app_password.active = 0
        app_password.secret_encrypted = None
    db.session.commit()


def token_from_header(authorization: str | None) -> ApiToken | None:
    """The live token named by an ``Authorization: Bearer …`` header, or None."""
    scheme, _sep, plain = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not plain.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plain.strip())))
    if token is None or token.revoked_at is not None:
        return None
    token.last_used_at = utcnow()
    return token


def integration_password(token: ApiToken, mailbox: Mailbox) -> str:
    """The token's app password for ``mailbox``, made on first request (caller commits)."""
    for app_password in mailbox.app_passwords:
        if app_password.api_token_id == token.id and app_password.active and \
                app_password.secret_encrypted:
            return secret_box.decrypt(app_password.secret_encrypted)
    selector, plain = mailbox_passwords.new_app_password()
    mailbox.app_passwords.append(AppPassword(
        label=token.label, selector=selector, password_hash=mailbox_passwords.hash_password(plain),
        tenant_id=token.tenant_id, api_token_id=token.id,
        secret_encrypted=secret_box.encrypt(plain),
    ))
    return plain


def revoke_app_password(app_password: AppPassword) -> None:
    app_password.active = 0
    app_password.secret_encrypted = None
    db.session.commit()
