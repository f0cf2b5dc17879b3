"""The typed results of a connection test and their messages for users (German and English).

Backends report codes; the words live here so every backend says the same thing the same way.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .backend import TestStep

STEP_LABELS = {
    "resolve": _l("Look up the server name"),
    "connect": _l("Connect"),
    "tls": _l("Encrypt (TLS)"),
    "greeting": _l("Server greeting"),
    "starttls": _l("Switch to encryption (STARTTLS)"),
    "ehlo": _l("Say hello (EHLO)"),
    "login": _l("Log in"),
    "auth": _l("Log in (AUTH)"),
    "capabilities": _l("Server capabilities"),
    "folders": _l("List folders"),
}

CODE_MESSAGES = {
    "ok": _l("Passed."),
    "skipped": _l("Not tried because an earlier step failed."),
    "cannot_resolve": _l("The server name cannot be found. Check the spelling of the host."),
    "connection_refused": _l("The server refused the connection. Check the host and the port."),
    "connection_failed": _l("The server cannot be reached. Check the host, the port and the network."),
    "connection_lost": _l("The server closed the connection unexpectedly."),
    "timeout": _l("The server did not answer in time."),
    "certificate_invalid": _l("The server's certificate is not valid for this host or not trusted."),
    "tls_to_plain_port": _l("This port does not speak TLS. Choose STARTTLS or the TLS port (IMAP 993, SMTP 465)."),
    "tls_failed": _l("The encrypted connection could not be set up."),
    "starttls_not_offered": _l("The server does not offer STARTTLS on this port."),
    "plain_not_allowed": _l("Unencrypted connections are allowed only to this machine (127.0.0.1)."),
    "not_imap_server": _l("This is not an IMAP server. Check the port."),
    "not_smtp_server": _l("This is not an SMTP server. Check the port."),
    "wrong_password": _l("The server refused the user name or the password."),
    "auth_method_not_offered": _l("The server offers no login method we can use here."),
    "protocol_error": _l("The server answered something unexpected."),
    "not_configured": _l("No server is configured."),
}


def make_step(protocol: str, step: str, code: str, detail: str = "", seconds: float = 0.0) -> TestStep:
    """A :class:`TestStep` whose message is the user-facing text for ``code``."""
    return TestStep(protocol, step, code, str(CODE_MESSAGES.get(code, CODE_MESSAGES["protocol_error"])),
                    detail[:300], round(seconds, 3))


def step_label(step: str) -> str:
    return str(STEP_LABELS.get(step, step))
