"""A mailbox's OAuth2 tokens: signing in (delegated, with PKCE), keeping the access token fresh,
and the "needs sign-in" state.

Tokens live in the mailbox's encrypted ``secrets`` (``oauth_access_token``,
``oauth_refresh_token``, ``oauth_expires_at``, ``oauth_lifetime``; the pending sign-in's PKCE
flow in ``oauth_flow``). An access token is refreshed before it expires (a fifth of its
lifetime, at most a minute, ahead) and once more when a server refuses it; a rotated refresh
token replaces the old one in the same commit. One refresh per mailbox at a time: a lock in
the process and the mailbox row locked (PostgreSQL) across processes, and the stored token is
read again under the lock, so a rotated refresh token is never used twice.

When the provider refuses the refresh (revoked consent, changed password, expired refresh
token) the mailbox *needs sign-in*: ``needs_sign_in_at`` is set, the tokens are dropped, and
every later use raises :class:`SignInRequired` at once without asking the provider, so nothing
retries in a loop; sync stops and the outbox keeps its mail waiting until someone signs in.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping

from flask_babel import gettext as _

from .._state import mail_state
from ..errors import MailError, OAuthFailure, SignInRequired
from ..models import Mailbox, OAuthProvider, utcnow
from ..rights import access
from .backend import TestStep
from .connection_steps import make_step
from .oauth_clients import SIGN_IN_CODES, TokenSet, client_for
from .oauth_providers import provider_config
from .secret_box import SecretBox

log = logging.getLogger(__name__)

AUTH_KINDS = ("password", "oauth2_delegated", "oauth2_app")
TOKEN_KEYS = ("oauth_access_token", "oauth_refresh_token", "oauth_expires_at", "oauth_lifetime")
MAX_MARGIN = 60.0

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def uses_oauth(mailbox: Mailbox) -> bool:
    return mailbox.auth_kind in ("oauth2_delegated", "oauth2_app")


def has_tokens(mailbox: Mailbox) -> bool:
    try:
        stored = SecretBox.from_app().decrypt(mailbox.secrets)
    except MailError:
        return False
    return bool(stored.get("oauth_refresh_token") or stored.get("oauth_access_token"))


class MailboxTokens:
    """The :class:`~.backend.TokenSource` of one mailbox (``ServerSettings.token_source``)."""

    def __init__(self, mailbox_id: int) -> None:
        self.mailbox_id = mailbox_id

    def get(self, force_refresh: bool = False) -> str:
        return access_token(self.mailbox_id, force_refresh)


def access_token(mailbox_id: int, force_refresh: bool = False) -> str:
    """A valid access token of the mailbox, refreshed when it expires soon or ``force_refresh``.
    Commits what it stores. Raises :class:`SignInRequired` or :class:`OAuthFailure`."""
    with _lock(mailbox_id):
        session = mail_state().db.session
        session.commit()  # a fresh transaction: read what another process may have stored
        mailbox = session.get(Mailbox, mailbox_id, populate_existing=True,
                              with_for_update=session.get_bind().dialect.name == "postgresql")
        try:
            return _current_or_refreshed(mailbox, force_refresh)
        finally:
            session.commit()  # releases the row lock whatever happened


def _current_or_refreshed(mailbox: Mailbox, force_refresh: bool) -> str:
    if mailbox.needs_sign_in_at is not None:
        raise SignInRequired()
    box = SecretBox.from_app()
    stored = box.decrypt(mailbox.secrets)
    token = stored.get("oauth_access_token")
    if token and not force_refresh:
        expires_at = float(stored.get("oauth_expires_at") or 0)
        margin = min(MAX_MARGIN, max(1.0, float(stored.get("oauth_lifetime") or 0) / 5))
        if time.time() < expires_at - margin:
            return token
    client = client_for(provider_config(_provider_of(mailbox)))
    if mailbox.auth_kind == "oauth2_app":
        tokens = client.app_token()
    else:
        refresh = stored.get("oauth_refresh_token")
        if not refresh:
            _needs_sign_in(mailbox, "no refresh token")
            raise SignInRequired()
        try:
            tokens = client.refresh(refresh)
        except OAuthFailure as failure:
            if failure.code in SIGN_IN_CODES:
                _needs_sign_in(mailbox, failure.detail or failure.code)
                raise SignInRequired() from None
            raise
    store_tokens(mailbox, tokens)
    return tokens.access_token


def store_tokens(mailbox: Mailbox, tokens: TokenSet) -> None:
    """Keep ``tokens`` (the refresh token only when the provider sent a new one: rotation)."""
    box = SecretBox.from_app()
    stored = box.decrypt(mailbox.secrets)
    stored.update(oauth_access_token=tokens.access_token, oauth_expires_at=repr(tokens.expires_at),
                  oauth_lifetime=str(tokens.expires_in))
    if tokens.refresh_token:
        stored["oauth_refresh_token"] = tokens.refresh_token
    mailbox.secrets = box.encrypt(stored)


def forget_tokens(mailbox: Mailbox) -> None:
    """Drop the tokens and a pending sign-in (the caller commits)."""
    box = SecretBox.from_app()
    stored = {key: value for key, value in box.decrypt(mailbox.secrets).items()
              if key not in TOKEN_KEYS and key != "oauth_flow"}
    mailbox.secrets = box.encrypt(stored)


def _needs_sign_in(mailbox: Mailbox, reason: str) -> None:
    """Mark the mailbox and commit; its managers see the notice on the mailbox pages."""
    forget_tokens(mailbox)
    mailbox.needs_sign_in_at = utcnow()
    mailbox.last_sync_error = str(SignInRequired.default_message)[:500]
    mailbox.last_sync_detail = reason[:1000]
    log.warning("mailbox %s needs a new sign-in: %s", mailbox.id, reason[:200])
    access.audit("system", mailbox.id, "oauth_needs_sign_in", reason=reason[:200])  # commits


def _provider_of(mailbox: Mailbox) -> OAuthProvider:
    provider = mail_state().db.session.get(OAuthProvider, mailbox.oauth_provider_id) \
        if mailbox.oauth_provider_id else None
    if provider is None:
        raise OAuthFailure("not_configured", _("Choose the sign-in provider of this mailbox."))
    return provider


def _lock(mailbox_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(mailbox_id, threading.Lock())


# -- delegated sign-in -------------------------------------------------------------------------

def begin_sign_in(mailbox: Mailbox, redirect_uri: str) -> tuple[str, str]:
    """Start a delegated sign-in: returns the provider's URL to send the browser to and the
    ``state`` the redirect will carry. The PKCE flow is kept encrypted until the redirect."""
    if mailbox.auth_kind != "oauth2_delegated":
        raise OAuthFailure("not_configured", _("This mailbox does not sign in as a user."))
    client = client_for(provider_config(_provider_of(mailbox)))
    url, flow = client.start_sign_in(redirect_uri, login_hint=mailbox.imap_username or mailbox.email)
    box = SecretBox.from_app()
    stored = box.decrypt(mailbox.secrets)
    stored["oauth_flow"] = json.dumps(flow)
    mailbox.secrets = box.encrypt(stored)
    mail_state().db.session.commit()
    return url, str(flow["state"])


def finish_sign_in(mailbox: Mailbox, params: Mapping[str, str], actor: str) -> None:
    """Exchange the redirect's code for tokens; the mailbox no longer needs sign-in. Commits."""
    box = SecretBox.from_app()
    stored = box.decrypt(mailbox.secrets)
    flow = json.loads(stored.pop("oauth_flow", "null") or "null")
    if not flow:
        raise OAuthFailure("state_mismatch", _("This sign-in was not started here or was already used. "
                                               "Start it again."))
    mailbox.secrets = box.encrypt(stored)
    mail_state().db.session.commit()  # a flow is used once, whatever happens next
    tokens = client_for(provider_config(_provider_of(mailbox))).finish_sign_in(flow, params)
    with _lock(mailbox.id):
        store_tokens(mailbox, tokens)
        mailbox.needs_sign_in_at = None
        mailbox.last_sync_error = None
        mailbox.last_sync_detail = None
        mail_state().db.session.commit()
    access.audit(actor, mailbox.id, "oauth_signed_in")


# -- the connection test -----------------------------------------------------------------------

def token_step(mailbox: Mailbox) -> TestStep:
    """The Test's first OAuth2 step: get a new token from the provider now (so a wrong secret,
    a missing scope or a revoked sign-in shows here, not as a refused login)."""
    started = time.monotonic()
    try:
        access_token(mailbox.id, force_refresh=True)
    except SignInRequired:
        return make_step("oauth", "token", "sign_in_required", seconds=time.monotonic() - started)
    except OAuthFailure as failure:
        return make_step("oauth", "token", failure.code, failure.detail or "", time.monotonic() - started)
    return make_step("oauth", "token", "ok", _kind_label(mailbox), time.monotonic() - started)


def _kind_label(mailbox: Mailbox) -> str:
    return _("signed in as a user") if mailbox.auth_kind == "oauth2_delegated" else _("as an app (client credentials)")
