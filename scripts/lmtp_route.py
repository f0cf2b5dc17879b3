"""Recipient routing and delivery over LMTP for the local mail stack: the SMTP relay
(``smtp_relay.py``) and Dovecot's ``sendmail`` (``stack_sendmail.py``) share it. Standard library
only: Dovecot runs the latter as the ``mail`` user with the system's Python.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass

HOST = "127.0.0.1"
LMTP_TIMEOUT = 30.0

log = logging.getLogger("smtp_relay")


@dataclass(frozen=True)
class RcptVerdict:
    """What the LMTP servers said about one recipient: the accepting port, or the reply to give."""

    port: int | None
    reply: str


def probe_recipient(ports: list[int], address: str) -> RcptVerdict:
    """Offer ``address`` to each LMTP server in turn (MAIL FROM:<> / RCPT TO, then RSET)."""
    if not address.isascii():  # no stack user has one, and smtplib cannot send it without SMTPUTF8
        return RcptVerdict(None, f"550 5.1.1 <{address}>: recipient is not a local user, relaying denied")
    temporary = None
    for port in ports:
        try:
            with smtplib.LMTP(HOST, port, timeout=LMTP_TIMEOUT) as lmtp:
                lmtp.ehlo_or_helo_if_needed()
                lmtp.mail("")
                code, text = lmtp.rcpt(address)
                lmtp.rset()
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("LMTP %d unreachable while checking <%s>: %s", port, address, exc)
            temporary = f"451 4.4.1 <{address}>: mailbox server unavailable"
            continue
        if code == 250:
            return RcptVerdict(port, "250 2.1.5 OK")
        if 400 <= code < 500:
            temporary = f"451 4.3.0 <{address}>: {text.decode(errors='replace')}"
    return RcptVerdict(None, temporary or f"550 5.1.1 <{address}>: recipient is not a local user, relaying denied")


def deliver(port: int, mail_from: str, rcpt: str, content: bytes) -> str | None:
    """One LMTP transaction for one recipient; None when delivered, else the error."""
    try:
        with smtplib.LMTP(HOST, port, timeout=LMTP_TIMEOUT) as lmtp:
            lmtp.sendmail(mail_from, [rcpt], content)
    except (smtplib.SMTPException, OSError) as exc:
        return str(exc)
    return None
