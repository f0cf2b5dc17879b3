"""The SMTP settings of system mail (Mailversand): one row, edited by admins, read by the outbox
when it sends a system mail."""
from __future__ import annotations

import logging
from email.utils import getaddresses

from flask import current_app
from flask_babel import gettext as _

from .._state import mail_state
from ..errors import InvalidSettings, MailError
from ..mailboxes.address_policy import OPEN_POLICY
from ..mailboxes.backend import SECURITY_MODES, ServerSettings
from ..mailboxes.secret_box import SecretBox
from ..mailboxes.tls import is_loopback
from ..mime.build import parse_address
from ..models import SystemMailSettings

log = logging.getLogger(__name__)


def system_settings() -> SystemMailSettings:
    """The one row of settings; made at the first call, pre-filled from the host's Flask-Mail
    configuration if it has one (:func:`settings_from_mail_config`)."""
    session = mail_state().db.session
    settings = session.get(SystemMailSettings, 1)
    if settings is None:
        settings = SystemMailSettings(id=1)
        session.add(settings)
        session.commit()
        _prefill(settings_from_mail_config(current_app.config))
    return settings


def settings_from_mail_config(config) -> dict[str, str]:
    """The values of Flask-Mail's settings (``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_SSL``,
    ``MAIL_USE_TLS``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``) in the form
    :func:`update_system_settings` takes; empty if the host sets no ``MAIL_SERVER``."""
    if not config.get("MAIL_SERVER"):
        return {}
    if config.get("MAIL_USE_SSL"):
        security = "tls"
    elif config.get("MAIL_USE_TLS"):
        security = "starttls"
    else:
        security = "none"
    values = {"host": str(config["MAIL_SERVER"]), "port": str(config.get("MAIL_PORT") or 25),
              "security": security}
    # Flask-Mail logs in only with both a user name and a password.
    if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
        values["username"] = str(config["MAIL_USERNAME"])
        values["password"] = str(config["MAIL_PASSWORD"])
    sender = config.get("MAIL_DEFAULT_SENDER")
    if sender:
        name, address = sender if isinstance(sender, (tuple, list)) else getaddresses([str(sender)])[0]
        values["sender_name"], values["sender_address"] = str(name), str(address)
    return values


def _prefill(values: dict[str, str]) -> None:
    if not values:
        return
    try:
        update_system_settings(values)
    except InvalidSettings as error:
        # The host's Flask-Mail settings break a rule of ours (say, plain SMTP to another
        # machine): the admin fills in Mailversand by hand.
        mail_state().db.session.rollback()
        log.warning("Mailversand not pre-filled from the Flask-Mail settings (%s): %s",
                    error.field, error.user_message)


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
                          timeout=config["TRICOMA_MAIL_NETWORK_TIMEOUT"], ca_file=config["TRICOMA_MAIL_CA_FILE"],
                          policy=OPEN_POLICY)  # only admins configure system mail (docs/security.md)
