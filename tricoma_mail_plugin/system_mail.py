"""System mail (Mailversand): the host's own mail (password resets, notifications) through SMTP
settings of its own, queued in the same outbox as all other mail, without a Sent copy."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from .backend import SECURITY_MODES, ServerSettings
from .compose import OutgoingMessage, build_message, parse_address
from .errors import InvalidSettings, MailError
from .extension import mail_state
from .models import OutboxItem, SystemMailSettings, utcnow
from .mailboxes import wait_if_too_soon
from .outbox import store_built
from .secret_box import SecretBox
from .smtp_transport import submit as submit_smtp
from .tls import is_loopback


def system_settings() -> SystemMailSettings:
    session = mail_state().db.session
    settings = session.get(SystemMailSettings, 1)
    if settings is None:
        settings = SystemMailSettings(id=1)
        session.add(settings)
        session.commit()
    return settings


def update_system_settings(values: dict) -> SystemMailSettings:
    """Validate and store the system SMTP settings (an empty password keeps the stored one)."""
    settings = system_settings()
    host = str(values.get("host", settings.host)).strip()
    security = values.get("security", settings.security)
    try:
        port = int(values.get("port", settings.port))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise InvalidSettings(_("The port must be a number from 1 to 65535."), field="port")
    if security not in SECURITY_MODES:
        raise InvalidSettings(_("Choose TLS, STARTTLS or none."), field="security")
    if security == "none" and host and not is_loopback(host):
        raise InvalidSettings(_("Unencrypted connections are allowed only to this machine (127.0.0.1)."),
                              field="security")
    for name in ("username", "sender_name", "sender_address", "reply_to"):
        value = str(values.get(name, getattr(settings, name))).strip()
        if "\r" in value or "\n" in value:
            raise InvalidSettings(_("This field must be one line."), field=name)
        if value and name in ("sender_address", "reply_to"):
            try:
                parse_address(value, name)
            except MailError as error:
                raise InvalidSettings(error.user_message, field=name) from None
        setattr(settings, name, value)
    settings.host, settings.port, settings.security = host, port, security
    if values.get("password"):
        settings.secrets = SecretBox.from_app().encrypt({"password": str(values["password"])})
    mail_state().db.session.commit()
    return settings


def system_smtp_settings() -> ServerSettings:
    settings = system_settings()
    if not settings.host:
        raise MailError(_("System mail has no SMTP server configured."))
    password = SecretBox.from_app().decrypt(settings.secrets).get("password", "")
    config = current_app.config
    return ServerSettings(settings.host, settings.port, settings.security, settings.username, password,
                          timeout=config["TRICOMA_MAIL_NETWORK_TIMEOUT"], ca_file=config["TRICOMA_MAIL_CA_FILE"])


def send_system_mail(to: str | list[str], subject: str, text: str, html: str | None = None,
                     idempotency_key: str | None = None) -> OutboxItem:
    """Queue a system mail (no user, no mailbox, no Sent copy). Returns the outbox item."""
    settings = system_settings()
    if not settings.sender_address:
        raise InvalidSettings(_("System mail has no sender address configured."), field="sender_address")
    outgoing = OutgoingMessage(to=tuple([to] if isinstance(to, str) else to), subject=subject, text=text,
                               html=html, reply_to=(settings.reply_to,) if settings.reply_to else ())
    built = build_message(outgoing, settings.sender_name, settings.sender_address)
    return store_built("system", None, built, idempotency_key, None, None, None, "skipped")


def send_test_mail(to: str, min_interval: float = 0) -> None:
    """Send a test mail at once (not queued), so the admin sees the typed error right away.
    ``min_interval`` refuses a new test sooner than that many seconds after the last one."""
    settings = system_settings()
    wait_if_too_soon(settings.last_test_at, min_interval)
    built = build_message(OutgoingMessage(to=(to,), subject=_("Test mail from tricoma"),
                                          text=_("This is a test of the system mail settings.")),
                          settings.sender_name, settings.sender_address or settings.username)
    try:
        submit_smtp(system_smtp_settings(), built.sender, built.recipients(), built.as_bytes())
    except MailError as error:
        settings.last_test_result = error.user_message[:1000]
        settings.last_test_at = utcnow()
        mail_state().db.session.commit()
        raise
    settings.last_test_result = "ok"
    settings.last_test_at = utcnow()
    mail_state().db.session.commit()
