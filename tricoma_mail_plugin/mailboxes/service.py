"""Mailboxes: create, configure, connect, test. Services take plain arguments and work the same
from a view, the CLI or a job."""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from .._state import all_or_nothing, mail_state
from ..errors import InvalidSettings, TooSoon
from ..models import AuditEntry, CachedFolder, Mailbox, utcnow
from ..rights import access
from .backend import (
    SECURITY_MODES,
    MailboxBackend,
    MailboxSettings,
    ServerSettings,
    TestStep,
)
from . import oauth_providers, oauth_tokens
from .address_policy import mail_server_policy
from .connection_steps import make_step, test_outcome
from .registry import backend_classes, make_backend
from .secret_box import SecretBox
from .tls import is_loopback

_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,253}$")
_ADDRESS = re.compile(r"^[^@\s<>\",;]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,}$|^[^@\s<>\",;]{1,64}@localhost$")


def create_mailbox(title: str, user) -> Mailbox:
    """Create a mailbox with only a title; its creator gets the *manage* right."""
    title = (title or "").strip()
    if not title:
        raise InvalidSettings(_("Enter a title."), field="title")
    if len(title) > 200 or "\n" in title or "\r" in title:
        raise InvalidSettings(_("The title is too long or has a line break."), field="title")
    session = mail_state().db.session
    mailbox = Mailbox(title=title, created_by=str(user.get_id()), folder_roles={}, last_test_steps=[])
    session.add(mailbox)
    session.commit()
    access.grant(mailbox.id, "user", user.get_id(), "manage", actor=str(user.get_id()))
    return mailbox


def delete_mailbox(mailbox: Mailbox, user) -> None:
    """Remove a mailbox from the installation (Thunderbird's "Remove account"): it is gone from
    every list, page, job and right, its stored passwords and tokens are wiped and its cached mail
    is dropped; the mail on its server is not touched, and what the archive journaled stays there
    (docs/archive.md). The row stays, marked deleted, for the audit log and the archive's entries.
    Needs *manage*; audited."""
    access.require(user, mailbox.id, "manage")
    session = mail_state().db.session
    with all_or_nothing():
        mailbox.deleted_at = utcnow()
        mailbox.secrets = ""
        session.execute(delete(CachedFolder).where(CachedFolder.mailbox_id == mailbox.id))  # their mail with them
        access.add_audit(str(user.get_id()), mailbox.id, "mailbox_deleted", title=mailbox.title, email=mailbox.email)
        session.commit()


def update_settings(mailbox: Mailbox, values: dict[str, Any]) -> None:
    """Validate and store the settings in ``values`` (form field names: ``imap_host``,
    ``smtp_port``, ``email``…; an empty ``imap_password``/``smtp_password`` keeps the stored
    one). Changing server settings makes the mailbox untested again. Commits; a refused value
    changes nothing."""
    with all_or_nothing():
        _update_settings(mailbox, values)


def _update_settings(mailbox: Mailbox, values: dict[str, Any]) -> None:
    changed_servers = False
    for protocol in ("imap", "smtp"):
        host = str(values.get(f"{protocol}_host", getattr(mailbox, f"{protocol}_host"))).strip()
        security = values.get(f"{protocol}_security", getattr(mailbox, f"{protocol}_security"))
        port = _port(values.get(f"{protocol}_port", getattr(mailbox, f"{protocol}_port")), protocol)
        username = str(values.get(f"{protocol}_username", getattr(mailbox, f"{protocol}_username"))).strip()
        if host and not _HOST.match(host):
            raise InvalidSettings(_("The server name is not valid."), field=f"{protocol}_host")
        if security not in SECURITY_MODES:
            raise InvalidSettings(_("Choose TLS, STARTTLS or none."), field=f"{protocol}_security")
        if security == "none" and host and not is_loopback(host):
            raise InvalidSettings(
                _("Unencrypted connections are allowed only to this machine (127.0.0.1)."),
                field=f"{protocol}_security",
            )
        if _has_line_break(username):
            raise InvalidSettings(_("The user name has a line break."), field=f"{protocol}_username")
        new = {"host": host, "port": port, "security": security, "username": username}
        for name, value in new.items():
            if getattr(mailbox, f"{protocol}_{name}") != value:
                setattr(mailbox, f"{protocol}_{name}", value)
                changed_servers = True
    email = str(values.get("email", mailbox.email)).strip()
    if email and not _ADDRESS.match(email):
        raise InvalidSettings(_("The e-mail address is not valid."), field="email")
    mailbox.email = email
    for name in ("title", "sender_name"):
        value = str(values.get(name, getattr(mailbox, name))).strip()
        if _has_line_break(value):
            raise InvalidSettings(_("This field must be one line."), field=name)
        setattr(mailbox, name, value)
    if not mailbox.title:
        raise InvalidSettings(_("Enter a title."), field="title")
    extra = [line.strip() for line in str(values.get("extra_addresses", mailbox.extra_addresses)).splitlines() if line.strip()]
    for address in extra:
        if not _ADDRESS.match(address):
            raise InvalidSettings(_("%(address)s is not a valid e-mail address.", address=address),
                                  field="extra_addresses")
    mailbox.extra_addresses = "\n".join(extra)
    mailbox.signature = str(values.get("signature", mailbox.signature))
    app_bcc = [a.strip() for a in str(values.get("app_bcc", mailbox.app_bcc or "")).split(",") if a.strip()]
    for address in app_bcc:
        if not _ADDRESS.match(address):
            raise InvalidSettings(_("%(address)s is not a valid e-mail address.", address=address), field="app_bcc")
    mailbox.app_bcc = ", ".join(app_bcc)
    mailbox.send_rate_per_hour = _send_rate(values.get("send_rate_per_hour", mailbox.send_rate_per_hour))
    if "provider_files_sent_mail" in values:
        mailbox.provider_files_sent_mail = bool(values["provider_files_sent_mail"])
    if _update_auth(mailbox, values):
        changed_servers = True
    secrets = read_secrets(mailbox)
    for protocol in ("imap", "smtp"):
        password = values.get(f"{protocol}_password")
        if password:
            secrets[f"{protocol}_password"] = str(password)
            changed_servers = True
    mailbox.secrets = SecretBox.from_app().encrypt(secrets)
    if changed_servers:
        mailbox.last_test_ok = None
    mail_state().db.session.commit()


def _send_rate(value: Any) -> int | None:
    """Mails per hour, or ``None`` (empty) for no limit."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= 1_000_000:
        raise InvalidSettings(_("Enter a whole number of mails per hour, or leave it empty."),
                              field="send_rate_per_hour")
    return int(text)


def _update_auth(mailbox: Mailbox, values: dict[str, Any]) -> bool:
    """How the mailbox logs in (``auth_kind``, ``oauth_provider_id``); True when it changed.
    A change of provider or kind drops the stored tokens: they belong to the old sign-in."""
    kind = values.get("auth_kind", mailbox.auth_kind) or "password"
    if kind not in oauth_tokens.AUTH_KINDS:
        raise InvalidSettings(_("Choose how the mailbox logs in."), field="auth_kind")
    provider_id = values.get("oauth_provider_id", mailbox.oauth_provider_id)
    provider_id = int(provider_id) if str(provider_id or "").isdigit() else None
    if kind == "password":
        provider_id = None
    elif provider_id is None or oauth_providers.provider(provider_id) is None:
        raise InvalidSettings(_("Choose the sign-in provider. An administrator sets providers up under "
                                "Administration → Sign-in providers."), field="oauth_provider_id")
    if (kind, provider_id) == (mailbox.auth_kind, mailbox.oauth_provider_id):
        return False
    oauth_tokens.forget_tokens(mailbox)
    mailbox.auth_kind, mailbox.oauth_provider_id = kind, provider_id
    mailbox.needs_sign_in_at = None
    return True


def live_mailbox(mailbox_id: int) -> Mailbox | None:
    """The mailbox with this id unless it is deleted: for jobs and plugins that keep mailbox ids."""
    mailbox = mail_state().db.session.get(Mailbox, mailbox_id)
    return mailbox if mailbox is not None and mailbox.deleted_at is None else None


def read_secrets(mailbox: Mailbox) -> dict[str, str]:
    return SecretBox.from_app().decrypt(mailbox.secrets)


def settings_for(mailbox: Mailbox) -> MailboxSettings:
    secrets = read_secrets(mailbox)
    config = current_app.config
    common = {"timeout": config["TRICOMA_MAIL_NETWORK_TIMEOUT"], "ca_file": config["TRICOMA_MAIL_CA_FILE"],
              "policy": mail_server_policy()}
    passwords = {"imap": secrets.get("imap_password", ""), "smtp": secrets.get("smtp_password", "")}
    if oauth_tokens.uses_oauth(mailbox):  # the password fields are never used
        common.update(auth="oauth2", token_source=oauth_tokens.MailboxTokens(mailbox.id))
        passwords = {"imap": "", "smtp": ""}
    smtp = None
    if mailbox.smtp_host:
        smtp = ServerSettings(mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security,
                              mailbox.smtp_username, passwords["smtp"], **common)
    return MailboxSettings(
        imap=ServerSettings(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security,
                            mailbox.imap_username, passwords["imap"], **common),
        smtp=smtp,
        sender_address=mailbox.email,
    )


def backend_for(mailbox: Mailbox) -> MailboxBackend:
    """A new, unconnected backend for ``mailbox`` (use it with ``with``)."""
    return make_backend(mailbox.kind, settings_for(mailbox))


@contextmanager
def connected_backend(mailbox: Mailbox, backend: MailboxBackend | None = None) -> Iterator[MailboxBackend]:
    """``with connected_backend(mailbox, backend)``: the given (connected) backend as it is, or a
    new connection to ``mailbox`` that is closed after the block."""
    if backend is not None:
        yield backend
        return
    with backend_for(mailbox) as opened:
        yield opened


TEST_AUDIT_ACTION = "connection_test"


def run_test(mailbox: Mailbox, min_interval: float = 0, *, actor: str | None = None,
             per_hour: int | None = None) -> list[TestStep]:
    """Test the connection step by step, store the result and its time. Commits.

    ``min_interval``: refuse (:class:`TooSoon`) when the last test is more recent than that many
    seconds; the web pages use it so a button cannot hammer a provider. ``actor`` (a host user
    id) and ``per_hour``: refuse when that user started ``per_hour`` tests in the last hour, of
    any mailbox, so the Test cannot be used to probe a network; each test is written to the audit:
    when it starts (the hourly count holds it before the servers are asked) and, once it ends,
    with its outcome (:func:`.connection_steps.test_outcome`).
    """
    wait_if_too_soon(mailbox.last_test_at, min_interval)
    entry = None
    if actor is not None:
        if per_hour is not None:
            _check_hourly_tests(actor, per_hour)
        entry = access.audit(actor, mailbox.id, TEST_AUDIT_ACTION, host=mailbox.imap_host, port=mailbox.imap_port)
    steps = _tested_steps(mailbox)
    mailbox.last_test_steps = [asdict(step) for step in steps]
    mailbox.last_test_ok = bool(steps) and all(step.ok or step.code == "skipped" for step in steps)
    mailbox.last_test_at = utcnow()
    if entry is not None:
        entry.details = {**entry.details, **test_outcome(steps, mailbox.last_test_ok)}
    mail_state().db.session.commit()
    return steps


def _tested_steps(mailbox: Mailbox) -> list[TestStep]:
    """The backend's steps; an OAuth2 mailbox first gets a new token (its own step), and when
    that fails the servers are not asked with a token that cannot work."""
    if not oauth_tokens.uses_oauth(mailbox):
        return backend_for(mailbox).test_connection()
    token = oauth_tokens.token_step(mailbox)
    if not token.ok:
        return [token, make_step("imap", "oauth_login", "skipped"), make_step("smtp", "oauth_auth", "skipped")]
    return [token, *backend_for(mailbox).test_connection()]


def wait_if_too_soon(last: datetime | None, min_interval: float) -> None:
    if last is not None and min_interval:
        remaining = min_interval - (utcnow() - last).total_seconds()
        if remaining > 0:
            raise TooSoon(_("Please wait %(seconds)d seconds before testing again.", seconds=math.ceil(remaining)))


def _check_hourly_tests(actor: str, per_hour: int) -> None:
    since = utcnow() - timedelta(hours=1)
    started = mail_state().db.session.scalars(
        select(AuditEntry.at).where(AuditEntry.actor == str(actor), AuditEntry.action == TEST_AUDIT_ACTION,
                                    AuditEntry.at > since).order_by(AuditEntry.at)).all()
    if len(started) >= per_hour:
        oldest = started[len(started) - per_hour]
        minutes = max(1, math.ceil((oldest - since).total_seconds() / 60))
        raise TooSoon(_("You have run %(count)d connection tests in the last hour. Please wait %(minutes)d "
                        "minutes before testing again.", count=len(started), minutes=minutes))


def stored_test_steps(mailbox: Mailbox) -> list[TestStep]:
    return [TestStep(**step) for step in mailbox.last_test_steps or []]


def _port(value, protocol: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise InvalidSettings(_("The port must be a number from 1 to 65535."), field=f"{protocol}_port")
    return port


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


def discover_servers(mailbox: Mailbox, email: str):
    """Server settings for ``email`` from the mailbox's backend (presets, autoconfig, DNS)."""
    backend_class = backend_classes().get(mailbox.kind)
    return backend_class.discover(email) if backend_class else None
