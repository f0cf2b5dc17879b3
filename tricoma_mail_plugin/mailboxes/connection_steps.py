"""The typed results of a connection test and their messages for users (German and English).

Backends report codes; the words live here so every backend says the same thing the same way.
"""
from __future__ import annotations

from dataclasses import replace

from flask_babel import gettext as _
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
    "token": _l("Get a token from the sign-in provider (OAuth2)"),
    "oauth_login": _l("Token accepted by the IMAP server"),
    "oauth_auth": _l("Token accepted by the SMTP server"),
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
    "not_allowed": _l("This address is on a local, private or reserved network and not on the allow list "
                      "of mail servers: no connection was made. An administrator can allow it under "
                      "Administration → Mail servers."),
    # OAuth2 (issue 13): the provider's answers, then the servers' answers to the token.
    "wrong_client_secret": _l("The sign-in provider refused the app's client secret. Enter the current secret "
                              "under Administration → Sign-in providers (secrets expire)."),
    "wrong_client_id": _l("The sign-in provider does not know this application (client) ID in this tenant."),
    "wrong_tenant": _l("The sign-in provider does not know this tenant. Check the tenant (directory) ID or domain."),
    "consent_missing": _l("An administrator has not consented to the permissions this app asks for. "
                          "Grant admin consent for the app, then sign in again."),
    "account_locked": _l("The account is locked or disabled at the provider. Sign in there first."),
    "missing_scope": _l("The token lacks a permission the mailbox needs (scope). Add the API permission to "
                        "the app registration and grant consent."),
    "sign_in_required": _l("The sign-in is no longer valid (revoked, password changed or expired). Sign in again."),
    "access_denied": _l("The sign-in was cancelled or access was denied."),
    "state_mismatch": _l("This sign-in was not started here or was already used. Start it again."),
    "provider_unreachable": _l("The sign-in provider cannot be reached. Check the provider's addresses and the "
                               "network."),
    "oauth_error": _l("The sign-in provider refused to issue a token."),
    "oauth_not_offered": _l("The server does not offer OAuth2 login (XOAUTH2 or OAUTHBEARER) on this port."),
    "token_rejected": _l("The server refused the token. Check that the user name is the mailbox's address and "
                         "that the app may open this mailbox."),
    "smtp_auth_disabled": _l("SMTP AUTH is switched off for this mailbox or the whole tenant. Switch on "
                             "\"Authenticated SMTP\" for the mailbox in the Microsoft 365 admin center."),
    "could_not_connect": _l("Could not connect to the server. Check the host name and the port; if they are "
                            "right, ask an administrator."),
}

#: The steps that reach the server at all; their typed failures (refused, timeout, no TLS on
#: this port…) tell open ports from closed ones, so users who are not admins see one answer.
TRANSPORT_STEPS = frozenset({"resolve", "connect", "tls", "greeting", "starttls", "ehlo"})


def make_step(protocol: str, step: str, code: str, detail: str = "", seconds: float = 0.0) -> TestStep:
    """A :class:`TestStep` whose message is the user-facing text for ``code``."""
    return TestStep(protocol, step, code, str(CODE_MESSAGES.get(code, CODE_MESSAGES["protocol_error"])),
                    detail[:300], round(seconds, 3))


def steps_for_non_admins(steps: list[TestStep]) -> list[TestStep]:
    """The test's steps as a user who is not an admin sees them: a failure of any step that
    reaches the server, or a refusal by the address policy at any step (a name may resolve
    elsewhere on a later connection), becomes one "could not connect" step, the steps after it
    are skipped, and no detail or timing of those steps is shown. Admins see the typed steps."""
    shown: list[TestStep] = []
    for protocol in dict.fromkeys(step.protocol for step in steps):
        own = [step for step in steps if step.protocol == protocol]
        failed = any((step.step in TRANSPORT_STEPS and not step.ok and step.code not in ("skipped", "not_configured"))
                     or step.code == "not_allowed" for step in own)
        if not failed:
            shown.extend(replace(step, detail="", seconds=0.0) if step.step in TRANSPORT_STEPS else step
                         for step in own)
            continue
        shown.append(make_step(protocol, "connect", "could_not_connect"))
        shown.extend(make_step(protocol, step.step, "skipped") for step in own if step.step not in TRANSPORT_STEPS)
    return shown


def step_label(step: str) -> str:
    return str(STEP_LABELS.get(step, step))


def test_outcome(steps: list[TestStep], passed: bool) -> dict[str, str]:
    """What the audit log keeps of a finished test: ``{"outcome": "passed"}``, or ``"failed"`` with
    the protocol, step and code of the first failed step. The log is shown to the mailbox's
    managers, so the failure is the one users who are not admins see (:func:`steps_for_non_admins`):
    a typed network failure would tell open ports from closed ones."""
    if passed:
        return {"outcome": "passed"}
    failed = next((step for step in steps_for_non_admins(steps) if not step.ok and step.code != "skipped"), None)
    if failed is None:
        return {"outcome": "failed"}
    return {"outcome": "failed", "protocol": failed.protocol, "step": failed.step, "reason": failed.code}


def outcome_text(details: dict) -> str:
    """The audit log's words for a test's outcome (:func:`test_outcome`); ``""`` for a test that
    did not end (the process stopped) or was logged before outcomes were."""
    if details.get("outcome") == "passed":
        return _("Test passed")
    if details.get("outcome") != "failed":
        return ""
    if not details.get("reason"):
        return _("Test failed")
    step = f"{str(details.get('protocol', '')).upper()} {step_label(str(details.get('step', '')))}".strip()
    reason = CODE_MESSAGES.get(str(details["reason"]), CODE_MESSAGES["protocol_error"])
    return _("Test failed at “%(step)s”: %(reason)s", step=step, reason=reason)
