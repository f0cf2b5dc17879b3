"""The SMTP settings of system mail (Mailversand): one row, edited by admins, read by the outbox
when it sends a system mail."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from .._state import mail_state
from ..errors import InvalidSettings, MailError
from ..mailboxes.backend import SECURITY_MODES, ServerSettings
from ..mailboxes.secret_box import SecretBox
from ..mailboxes.tls import is_loopback
from ..mime.build import parse_address
from ..models import SystemMailSettings


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
