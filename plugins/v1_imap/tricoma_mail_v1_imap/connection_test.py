"""The Test action for external mailboxes: IMAP and SMTP checked step by step, each step with a
typed result, so the user learns exactly what is wrong."""
from __future__ import annotations

import smtplib
import time
from typing import Callable

from imapclient import exceptions as imap_exceptions

from tricoma_mail_plugin import (
    MailboxSettings,
    OAuthFailure,
    ServerNotAllowed,
    ServerSettings,
    SignInRequired,
    TestStep,
    imap_mechanisms,
    is_loopback,
    make_step,
    smtp_token_auth,
    tls_context,
    token_login,
    uses_token,
)

from .checked_imap import CheckedIMAPClient, oauth_login
from .errors import classify, connection_died, short

IMAP_STEPS = ("resolve", "connect", "greeting", "login", "capabilities", "folders")
SMTP_STEPS = ("resolve", "connect", "greeting", "ehlo", "auth")


def run(settings: MailboxSettings) -> list[TestStep]:
    steps = _test_imap(settings.imap)
    if settings.smtp is None:
        steps.append(make_step("smtp", "connect", "not_configured"))
    else:
        steps.extend(_test_smtp(settings.smtp))
    return steps


class _Recorder:
    """Collects steps; after the first failure the remaining ones are reported as skipped."""

    def __init__(self, protocol: str, planned: tuple[str, ...]) -> None:
        self.protocol = protocol
        self.planned = list(planned)
        self.steps: list[TestStep] = []
        self.failed = False

    def run(self, step: str, action: Callable[[], str | None], failure_code: Callable[[BaseException], str] = classify):
        if self.failed:
            return None
        started = time.monotonic()
        try:
            detail = action() or ""
        except Exception as error:  # noqa: BLE001 - every failure becomes a typed step
            self.fail(step, failure_code(error), short(error), time.monotonic() - started)
            return None
        self.steps.append(make_step(self.protocol, step, "ok", detail, time.monotonic() - started))
        return True

    def fail(self, step: str, code: str, detail: str = "", seconds: float = 0.0) -> None:
        self.steps.append(make_step(self.protocol, step, code, detail, seconds))
        self.failed = True

    def finish(self) -> list[TestStep]:
        done = {step.step for step in self.steps}
        for step in self.planned:
            if step not in done:
                self.steps.append(make_step(self.protocol, step, "skipped"))
        return self.steps


def _resolve(server: ServerSettings, state: dict) -> str:
    """Resolve once and keep the addresses the policy lets through; the connect step uses
    exactly these (a second look-up could answer differently: DNS rebinding)."""
    state["addresses"] = server.policy.resolve(server.host, server.port)
    return ", ".join(sorted({address[4][0] for address in state["addresses"]}))


def _resolve_failure(error: BaseException) -> str:
    return "not_allowed" if isinstance(error, ServerNotAllowed) else classify(error)


def _open_transport(recorder: _Recorder, server: ServerSettings, context, state: dict) -> bool:
    """The steps IMAP and SMTP share: configured at all, resolve, connect, TLS (when asked).
    Leaves the socket in ``state["socket"]``; False when a step failed."""
    if not server.host:
        recorder.fail("connect", "not_configured")
        return False
    if server.security == "none" and not is_loopback(server.host):
        recorder.fail("connect", "plain_not_allowed")
        return False

    def connect():
        state["socket"] = server.policy.connect(server.host, server.port, server.timeout, state["addresses"])

    def wrap():
        state["socket"] = context.wrap_socket(state["socket"], server_hostname=server.host)
        return state["socket"].version()

    recorder.run("resolve", lambda: _resolve(server, state), _resolve_failure)
    recorder.run("connect", connect)
    if server.security == "tls":
        recorder.run("tls", wrap)
    if recorder.failed:
        _close_socket(state.get("socket"))
    return not recorder.failed


def _test_imap(server: ServerSettings) -> list[TestStep]:
    login_step = "oauth_login" if uses_token(server) else "login"
    planned = IMAP_STEPS[:2] + (("tls",) if server.security == "tls" else ()) + IMAP_STEPS[2:3] + (
        ("starttls",) if server.security == "starttls" else ()) + (login_step,) + IMAP_STEPS[4:]
    recorder = _Recorder("imap", planned)
    context = tls_context(server.ca_file)
    state: dict = {}
    if not _open_transport(recorder, server, context, state):
        return recorder.finish()

    def greeting():
        state["socket"].settimeout(server.timeout)
        line = state["socket"].makefile("rb").readline(4096)
        if not line.startswith((b"* OK", b"* PREAUTH")):
            raise _Typed("not_imap_server", line[:100].decode("latin-1", "replace").strip())
        return line[:120].decode("latin-1", "replace").strip()

    recorder.run("greeting", greeting, _typed_or_classify)
    _close_socket(state.get("socket"))
    if recorder.failed:
        return recorder.finish()

    def open_client():
        client = CheckedIMAPClient(server, context)
        state["client"] = client
        if server.security == "starttls":
            if b"STARTTLS" not in client.capabilities():
                raise _Typed("starttls_not_offered")
            client.starttls(context)
            return client._imap.sock.version()
        return None

    def login():
        if "client" not in state:
            open_client()
        client = state["client"]
        if uses_token(server):
            mechanism = token_login(server, imap_mechanisms(client.capabilities()),
                                    lambda mech, token: oauth_login(client, mech, server.username, token),
                                    (imap_exceptions.LoginError,))
            return f"{mechanism} {server.username}"
        else:
            if b"LOGINDISABLED" in client.capabilities():
                raise _Typed("auth_method_not_offered", "LOGINDISABLED")
            client.login(server.username, server.password)
        return server.username

    def capabilities():
        names = sorted(c.decode() for c in state["client"].capabilities())
        return " ".join(names)

    def folders():
        listed = state["client"].list_folders()
        return f"{len(listed)} folders"

    if server.security == "starttls":
        recorder.run("starttls", open_client, _typed_or_classify)
    recorder.run(login_step, login, _token_failure if uses_token(server) else _login_failure)
    recorder.run("capabilities", capabilities)
    recorder.run("folders", folders)
    client = state.get("client")
    if client is not None:
        try:
            client.logout()
        except Exception:  # noqa: BLE001
            pass
    return recorder.finish()


def _test_smtp(server: ServerSettings) -> list[TestStep]:
    auth_step = "oauth_auth" if uses_token(server) else "auth"
    planned = ("resolve", "connect") + (("tls",) if server.security == "tls" else ()) + (
        "greeting", "ehlo") + (("starttls",) if server.security == "starttls" else ()) + (auth_step,)
    recorder = _Recorder("smtp", planned)
    context = tls_context(server.ca_file)
    state: dict = {}
    if not _open_transport(recorder, server, context, state):
        return recorder.finish()
    smtp = smtplib.SMTP(timeout=server.timeout)

    def greeting():
        smtp.sock = state["socket"]
        smtp.file = None
        smtp._host = server.host  # smtplib's STARTTLS checks the certificate against it
        code, message = smtp.getreply()
        if code != 220:
            raise _Typed("not_smtp_server", f"{code} {message[:100]!r}")
        return f"{code} {message.decode('latin-1', 'replace')[:100]}"

    def ehlo():
        code, message = smtp.ehlo()
        if code != 250:
            raise _Typed("protocol_error", f"{code}")
        return " ".join(sorted(smtp.esmtp_features))

    def starttls():
        if not smtp.has_extn("starttls"):
            raise _Typed("starttls_not_offered")
        smtp.starttls(context=context)
        smtp.ehlo()

    def auth():
        if not smtp.has_extn("auth"):
            raise _Typed("auth_method_not_offered", "no AUTH in EHLO")
        if uses_token(server):
            offered = (smtp.esmtp_features.get("auth") or "").split()
            mechanism = token_login(server, offered, lambda mech, token: smtp_token_auth(smtp, server, mech, token),
                                    (smtplib.SMTPAuthenticationError,))
            return f"{mechanism} {server.username}"
        else:
            smtp.login(server.username, server.password)
        return server.username

    recorder.run("greeting", greeting, _typed_or_classify)
    recorder.run("ehlo", ehlo, _typed_or_classify)
    if server.security == "starttls":
        recorder.run("starttls", starttls, _typed_or_classify)
    recorder.run(auth_step, auth, _token_failure if uses_token(server) else _login_failure)
    try:
        if smtp.sock is not None:
            smtp.quit()
    except Exception:  # noqa: BLE001
        smtp.close()
    _close_socket(state.get("socket"))
    return recorder.finish()


class _Typed(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


def _typed_or_classify(error: BaseException) -> str:
    if isinstance(error, _Typed):
        return error.code
    if isinstance(error, ServerNotAllowed):  # the name resolved elsewhere on the second connection
        return "not_allowed"
    if isinstance(error, (smtplib.SMTPServerDisconnected, EOFError)):
        return "connection_lost"
    return classify(error)


def _login_failure(error: BaseException) -> str:
    if isinstance(error, _Typed):
        return error.code
    if isinstance(error, ServerNotAllowed):
        return "not_allowed"
    if isinstance(error, imap_exceptions.LoginError):
        return "connection_lost" if connection_died(error) else "wrong_password"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "wrong_password"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "auth_method_not_offered"
    if isinstance(error, smtplib.SMTPException) and "No suitable authentication method" in str(error):
        return "auth_method_not_offered"
    if isinstance(error, (imap_exceptions.IMAPClientError,)) and "STARTTLS" in str(error).upper():
        return "starttls_not_offered"
    return classify(error)


def _token_failure(error: BaseException) -> str:
    """The typed code of a failed OAuth2 login: the provider's (no token), or the server's."""
    if isinstance(error, SignInRequired):
        return "sign_in_required"
    if isinstance(error, OAuthFailure):
        return error.code
    if isinstance(error, smtplib.SMTPAuthenticationError):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error)
        # Exchange Online: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled…"
        return "smtp_auth_disabled" if "5.7.139" in text or "SmtpClientAuthentication" in text else "token_rejected"
    if isinstance(error, imap_exceptions.LoginError) and not connection_died(error):
        return "token_rejected"
    return _login_failure(error)


def _close_socket(sock) -> None:
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass
