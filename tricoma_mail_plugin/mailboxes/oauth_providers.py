"""Admin settings of OAuth2 providers: the app registration each mailbox's sign-in uses
(Microsoft Entra ID, Google, or any standards-compliant server). The client secret is kept
encrypted with the mailboxes' :class:`SecretBox`, never shown again and never logged."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .._state import all_or_nothing, mail_state
from ..errors import InvalidSettings, MailError
from ..models import Mailbox, OAuthProvider
from ..rights import access
from .oauth_clients import ProviderConfig
from .secret_box import SecretBox
from .tls import is_loopback

KIND_LABELS = {
    "microsoft": _l("Microsoft 365 / Exchange Online (Entra ID)"),
    "google": _l("Google Workspace / Gmail"),
    "standard": _l("Another OAuth2 provider"),
}

#: What a new provider of each kind starts with; the admin may change every value.
DEFAULTS: dict[str, dict[str, str]] = {
    "microsoft": {
        "authority": "https://login.microsoftonline.com",
        "scopes": "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send "
                  "offline_access",
        "app_scopes": "https://outlook.office365.com/.default",
    },
    "google": {
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "scopes": "https://mail.google.com/",
    },
    "standard": {"scopes": "offline_access"},
}
TEXT_FIELDS = ("name", "kind", "tenant", "client_id", "authority", "authorize_url", "token_url", "scopes", "app_scopes")
_TENANT = re.compile(r"^[A-Za-z0-9.\-]{0,200}$")
_SCOPE = re.compile(r"^[\x21-\x7e]+$")


def providers() -> list[OAuthProvider]:
    return list(mail_state().db.session.scalars(select(OAuthProvider).order_by(OAuthProvider.name)))


def provider(provider_id: int) -> OAuthProvider | None:
    return mail_state().db.session.get(OAuthProvider, provider_id)


def defaults_for(kind: str) -> dict[str, str]:
    values = {name: "" for name in TEXT_FIELDS}
    values.update(kind=kind, **DEFAULTS.get(kind, {}))
    return values


def stored_values(row: OAuthProvider) -> dict[str, str]:
    return {name: getattr(row, name) for name in TEXT_FIELDS}


def has_secret(row: OAuthProvider) -> bool:
    try:
        return bool(SecretBox.from_app().decrypt(row.secrets).get("client_secret"))
    except MailError:
        return False


def save_provider(row: OAuthProvider | None, values: dict[str, Any], actor: str) -> OAuthProvider:
    """Create (``row`` None) or change a provider; an empty ``client_secret`` keeps the stored
    one. Commits; a refused value changes nothing."""
    with all_or_nothing():
        clean = _validated(values)
        if row is None:
            row = OAuthProvider(secrets="")
            mail_state().db.session.add(row)
        for name, value in clean.items():
            setattr(row, name, value)
        secret = str(values.get("client_secret") or "")
        if secret:
            row.secrets = SecretBox.from_app().encrypt({"client_secret": secret})
        mail_state().db.session.commit()
    access.audit(actor, None, "oauth_provider_saved", provider=row.id, name=row.name)
    return row


def delete_provider(row: OAuthProvider, actor: str) -> None:
    """Delete a provider no mailbox uses; refuses (:class:`InvalidSettings`) otherwise."""
    session = mail_state().db.session
    used = session.scalar(select(Mailbox.id).where(Mailbox.oauth_provider_id == row.id,
                                                    Mailbox.deleted_at.is_(None)).limit(1))
    if used is not None:
        raise InvalidSettings(_("Mailboxes still sign in with this provider. Switch them to another one first."))
    provider_id, name = row.id, row.name
    session.delete(row)
    session.commit()
    access.audit(actor, None, "oauth_provider_deleted", provider=provider_id, name=name)


def provider_config(row: OAuthProvider) -> ProviderConfig:
    """The provider's settings with the secret decrypted, for :mod:`oauth_clients`."""
    config = current_app.config
    return ProviderConfig(
        kind=row.kind, client_id=row.client_id,
        client_secret=SecretBox.from_app().decrypt(row.secrets).get("client_secret", ""),
        tenant=row.tenant, authority=row.authority, authorize_url=row.authorize_url, token_url=row.token_url,
        scopes=tuple(row.scopes.split()), app_scopes=tuple(row.app_scopes.split()),
        ca_file=config["TRICOMA_MAIL_CA_FILE"], timeout=config["TRICOMA_MAIL_NETWORK_TIMEOUT"])


def _validated(values: dict[str, Any]) -> dict[str, str]:
    clean = {name: str(values.get(name) or "").strip() for name in TEXT_FIELDS}
    if any("\n" in value or "\r" in value for name, value in clean.items() if name not in ("scopes", "app_scopes")):
        raise InvalidSettings(_("This field must be one line."))
    if clean["kind"] not in KIND_LABELS:
        raise InvalidSettings(_("Choose the kind of provider."), field="kind")
    if not clean["name"] or len(clean["name"]) > 200:
        raise InvalidSettings(_("Enter a name of up to 200 characters."), field="name")
    if not clean["client_id"] or len(clean["client_id"]) > 300:
        raise InvalidSettings(_("Enter the application (client) ID."), field="client_id")
    if not _TENANT.match(clean["tenant"]):
        raise InvalidSettings(_("The tenant is a domain name or a directory ID."), field="tenant")
    for name in ("scopes", "app_scopes"):
        scopes = clean[name].split()
        if any(not _SCOPE.match(scope) for scope in scopes):
            raise InvalidSettings(_("Separate the scopes with spaces."), field=name)
        clean[name] = " ".join(scopes)
    if not clean["scopes"] and not clean["app_scopes"]:
        raise InvalidSettings(_("Enter the scopes to ask for."), field="scopes")
    needed = ("authority",) if clean["kind"] == "microsoft" else ("authorize_url", "token_url")
    for name in ("authority", "authorize_url", "token_url"):
        if clean[name] or name in needed:
            _check_url(clean[name], name)
    return clean


def _check_url(url: str, field: str) -> None:
    """https, or http to this machine only (a test server)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))
    if not secure or not parts.hostname or len(url) > 500:
        raise InvalidSettings(_("Enter an https:// address."), field=field)
