"""SMTP submission with a result per recipient, and errors sorted by whether the message may
have been accepted: before the final dot a failure is retryable or permanent, after it the
outcome is uncertain and the message must never be resent automatically."""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from typing import Callable, Sequence

from ..errors import (
    MailboxAuthError,
    MailboxConnectionError,
    SendRefused,
    SendUncertain,
)
from ..mailboxes.backend import RecipientResult, ServerSettings
from ..mailboxes.sasl import initial_response, token_login, uses_token
from ..mailboxes.tls import is_loopback, tls_context

#: Called with ``"data"`` before the DATA command and ``"final_dot"`` just before the final dot
#: is sent; it may raise to stop the transaction (the dot is then never sent).
Progress = Callable[[str], None]


def short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:300]


def open_smtp(server: ServerSettings) -> smtplib.SMTP:
    if server.security == "none" and not is_loopback(server.host):
        raise MailboxConnectionError("Unencrypted SMTP is allowed only to this machine.")
    context = tls_context(server.ca_file)
    try:
        if server.security == "tls":
            smtp = _CheckedSMTP_SSL(server, context=context)
        else:
            smtp = _CheckedSMTP(server)
            if server.security == "starttls":
                smtp.starttls(context=context)
        smtp.ehlo_or_helo_if_needed()
        if server.username:
            if uses_token(server):
                offered = (smtp.esmtp_features.get("auth") or "").split()
                token_login(server, offered, lambda mechanism, token: smtp_token_auth(smtp, server, mechanism, token),
                            (smtplib.SMTPAuthenticationError,))
            else:
                smtp.login(server.username, server.password)
    except smtplib.SMTPAuthenticationError as error:
        raise MailboxAuthError() from error
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        raise MailboxConnectionError(short(error)) from error
    return smtp


def smtp_token_auth(smtp: smtplib.SMTP, server: ServerSettings, mechanism: str, token: str) -> None:
    """AUTH with an OAuth2 token. A refusal comes as a 334 error challenge first, which must be
    answered with an empty line before the server sends its 535."""
    first = initial_response(mechanism, server.username, token, server.host, server.port)
    smtp.auth(mechanism, lambda challenge=None: first if challenge is None else "")


class _CheckedSMTP(smtplib.SMTP):
    """Connects to an address ``server.policy`` checked (resolved once: no DNS rebinding)."""

    def __init__(self, server: ServerSettings, **kwargs) -> None:
        self._policy = server.policy
        super().__init__(server.host, server.port, timeout=server.timeout, **kwargs)

    def _get_socket(self, host, port, timeout):
        return self._policy.connect(host, port, timeout)


class _CheckedSMTP_SSL(smtplib.SMTP_SSL):  # noqa: N801 - named after smtplib's class
    def __init__(self, server: ServerSettings, **kwargs) -> None:
        self._policy = server.policy
        super().__init__(server.host, server.port, timeout=server.timeout, **kwargs)

    def _get_socket(self, host, port, timeout):
        # The certificate is checked against the configured name, not the address.
        return self.context.wrap_socket(self._policy.connect(host, port, timeout), server_hostname=self._host)


def submit(server: ServerSettings | None, sender: str, recipients: Sequence[str], message: bytes,
           smtp: smtplib.SMTP | None = None) -> list[RecipientResult]:
    """Send ``message`` to ``recipients``; returns one result per recipient.

    Raises :class:`SendRefused` (5xx before data, or every recipient refused: permanent),
    :class:`MailboxConnectionError` (connection or 4xx before data: retry later) or
    :class:`SendUncertain` (the connection broke after the data was sent).
    """
    if server is None:
        raise MailboxConnectionError("No SMTP server is configured.")
    own = smtp is None
    smtp = smtp or open_smtp(server)
    try:
        return _transaction(smtp, sender, recipients, message)
    finally:
        if own:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _transaction(smtp: smtplib.SMTP, sender: str, recipients: Sequence[str], message: bytes,
                 progress: Progress | None = None) -> list[RecipientResult]:
    try:
        code, reply = smtp.mail(sender)
        if code != 250:
            smtp.rset()
            _raise_for(code, reply)
        results = []
        for address in recipients:
            code, reply = smtp.rcpt(address)
            results.append(RecipientResult(address, code in (250, 251), code, _text(reply)))
        accepted = [result for result in results if result.accepted]
        if not accepted:
            smtp.rset()
            worst = min(results, key=lambda result: result.code) if results else None
            if worst and 400 <= worst.code < 500:
                raise MailboxConnectionError(f"{worst.code} {worst.message}")
            raise SendRefused("; ".join(f"{r.address}: {r.code} {r.message}" for r in results))
    except (smtplib.SMTPServerDisconnected, OSError) as error:
        raise MailboxConnectionError(short(error)) from error
    if progress is not None:
        progress("data")
    code, reply = _data(smtp, message, progress)
    if code != 250:
        _raise_for(code, reply)
    return results


def _data(smtp: smtplib.SMTP, message: bytes, progress: Progress | None) -> tuple[int, bytes]:
    """``smtp.data`` in two steps, so that the last moment before the server can accept the
    message (the final dot) is known: a failure before it is retryable, after it uncertain."""
    try:
        code, reply = smtp.docmd("DATA")
        if code != 354:
            _raise_for(code, reply)
        body = re.sub(rb"(?m)^\.", b"..", message)
        smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")
    except (smtplib.SMTPServerDisconnected, OSError) as error:
        raise MailboxConnectionError(short(error)) from error
    if progress is not None:
        try:
            progress("final_dot")
        except BaseException:
            smtp.close()  # without the dot the server drops the message
            raise
    try:
        smtp.send(b".\r\n")
        return smtp.getreply()
    except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as error:
        raise SendUncertain(short(error)) from error


def _raise_for(code: int, reply) -> None:
    text = f"{code} {_text(reply)}"
    if 500 <= code < 600:
        raise SendRefused(text)
    raise MailboxConnectionError(text)


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpSession:
    """One SMTP connection reused for several messages (connect, TLS and AUTH once). After any
    error the connection is dropped and the next message opens a new one."""

    #: ``submit`` calls ``progress`` before DATA and before the final dot (see ``Progress``).
    reports_progress = True

    def __init__(self, server: ServerSettings | None) -> None:
        self._server = server
        self._smtp: smtplib.SMTP | None = None

    def submit(self, sender: str, recipients: Sequence[str], message: bytes,
               progress: Progress | None = None) -> list[RecipientResult]:
        if self._server is None:
            raise MailboxConnectionError("No SMTP server is configured.")
        if self._smtp is None:
            self._smtp = open_smtp(self._server)
        try:
            return _transaction(self._smtp, sender, recipients, message, progress)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
