"""Every ``TRICOMA_PORTAL_…`` config key with its default. The environment sets any of them by
its full name (``TRICOMA_PORTAL_GRACE_DAYS=14``; values read as JSON where they parse)."""
from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # The database Postfix and Dovecot read too; None: an SQLite file in the instance folder.
    "TRICOMA_PORTAL_DATABASE_URL": None,
    # The Fernet key that encrypts secrets at rest (DKIM keys, auth codes, integration app
    # passwords). None: derived from SECRET_KEY.
    "TRICOMA_PORTAL_ENCRYPTION_KEY": None,
    # Days a mailbox without addresses is kept before it is purged.
    "TRICOMA_PORTAL_GRACE_DAYS": 7,
    # How often the background purge of expired mailboxes runs (seconds; 0: only by CLI).
    "TRICOMA_PORTAL_PURGE_INTERVAL": 3600,
    "TRICOMA_PORTAL_DEFAULT_QUOTA_MB": 1024,
    "TRICOMA_PORTAL_MAX_QUOTA_MB": 102400,
    # The hosting stack (tricoma_portal.hosting); None: mailboxes cannot be provisioned and
    # fail with that reason.
    "TRICOMA_PORTAL_HOSTING_STATE_DIR": None,
    # host:port of the DNS resolver "Check DNS" and the TXT proof ask; None: the hosting
    # stack's own DNS server.
    "TRICOMA_PORTAL_DNS_RESOLVER": None,
    # The TXT record that proves a customer's own domain: <prefix>.<domain> TXT <token>.
    "TRICOMA_PORTAL_VERIFICATION_PREFIX": "_tricoma-verify",
    # Where domain orders go (tricoma_portal/registrar.py).
    "TRICOMA_PORTAL_REGISTRAR": "operator_queue",
    # Mail to customers on state changes: SMTP server, login, security (plain, starttls, tls).
    "TRICOMA_PORTAL_SMTP_HOST": None,
    "TRICOMA_PORTAL_SMTP_PORT": 587,
    "TRICOMA_PORTAL_SMTP_SECURITY": "starttls",
    "TRICOMA_PORTAL_SMTP_USERNAME": None,
    "TRICOMA_PORTAL_SMTP_PASSWORD": None,
    "TRICOMA_PORTAL_SMTP_CA_FILE": None,
    "TRICOMA_PORTAL_MAIL_FROM": "portal@localhost",
    "TRICOMA_PORTAL_PASSWORD_HASH_METHOD": "scrypt",
}
