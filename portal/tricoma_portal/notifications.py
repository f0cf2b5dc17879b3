"""Mail to a customer when something of theirs changes state (domain orders), sent through the
SMTP server in the portal's config, in the customer's language."""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from flask_babel import force_locale

from .models import Tenant

log = logging.getLogger(__name__)


def send_to_tenant(tenant: Tenant, subject_and_body) -> bool:
    """Send the mail ``subject_and_body()`` returns (called in the tenant's language) to the
    tenant's contact address. A failure is logged, not raised: the state change stands."""
    config = current_app.config
    if not config.get("TRICOMA_PORTAL_SMTP_HOST"):
        log.info("no SMTP server configured; mail to tenant %s not sent", tenant.id)
        return False
    with force_locale(tenant.language or "de"):
        subject, body = subject_and_body()
    message = EmailMessage()
    message["From"] = config["TRICOMA_PORTAL_MAIL_FROM"]
    message["To"] = tenant.contact_email
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="tricoma-portal")
    message.set_content(body)
    try:
        _deliver(message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("mail to tenant %s failed: %s", tenant.id, error)
        return False
    return True


def _deliver(message: EmailMessage) -> None:
    config = current_app.config
    host, port = config["TRICOMA_PORTAL_SMTP_HOST"], int(config["TRICOMA_PORTAL_SMTP_PORT"])
    security = config["TRICOMA_PORTAL_SMTP_SECURITY"]
    context = ssl.create_default_context(cafile=config.get("TRICOMA_PORTAL_SMTP_CA_FILE"))
    if security == "tls":
        client = smtplib.SMTP_SSL(host, port, timeout=15, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=15)
    with client:
        if security == "starttls":
            client.starttls(context=context)
        if config.get("TRICOMA_PORTAL_SMTP_USERNAME"):
            client.login(config["TRICOMA_PORTAL_SMTP_USERNAME"], config["TRICOMA_PORTAL_SMTP_PASSWORD"])
        client.send_message(message)
