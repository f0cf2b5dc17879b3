"""Translation of socket, TLS, imaplib/imapclient and smtplib errors into core's exception tree.

Messages never contain a password: only the exception's class and the server's reply text.
"""
from __future__ import annotations

import contextlib
import imaplib
import re
import smtplib
import socket
import ssl

from imapclient import exceptions as imap_exceptions

from tricoma_mail_plugin import (
    CapabilityError,
    FolderNotFound,
    MailboxAuthError,
    MailboxConnectionError,
    MailError,
)


def connection_died(error: BaseException) -> bool:
    """True for a ``LoginError`` that imapclient raised because the connection died during
    LOGIN (it wraps imaplib's ``abort`` and socket errors in ``LoginError`` too): that is a
    network fault, never a wrong password."""
    cause = error.__cause__ or error.__context__
    return isinstance(cause, (imaplib.IMAP4.abort, OSError, EOFError)) or "socket error" in str(error)


def classify(error: BaseException) -> str:
    """A typed code for a connection-level error (the ``TestStep.code`` vocabulary)."""
    if isinstance(error, imap_exceptions.LoginError) and connection_died(error):
        return "connection_lost"
    if isinstance(error, socket.gaierror):
        return "cannot_resolve"
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, ssl.SSLCertVerificationError):
        return "certificate_invalid"
    if isinstance(error, ssl.SSLError):
        reason = (getattr(error, "reason", "") or str(error)).upper()
        if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER" in reason or "PACKET_LENGTH" in reason:
            return "tls_to_plain_port"
        return "tls_failed"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, EOFError)):
        return "connection_lost"
    if isinstance(error, (imap_exceptions.LoginError, smtplib.SMTPAuthenticationError)):
        return "wrong_password"
    if isinstance(error, OSError):
        return "connection_failed"
    return "protocol_error"


def short(error: BaseException) -> str:
    """The error's kind and the first line of what the server or library said: the detail an
    admin reads under a failed test step. The server's words as text, not a Python ``b'…'``."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    quoted = _BYTES_TEXT.fullmatch(text)
    if quoted:
        text = quoted.group(2).replace("\\'", "'").replace('\\"', '"')
    return f"{type(error).__name__}: {text}"[:300]


_BYTES_TEXT = re.compile(r"""b(['"])(.*)\1""")  # how str() shows bytes: imapclient passes the server's answer so


@contextlib.contextmanager
def translated_imap_errors(folder: str | None = None):
    """Turn library errors inside the block into core's exceptions."""
    try:
        yield
    except MailError:
        raise
    except imap_exceptions.LoginError as error:
        if connection_died(error):
            raise MailboxConnectionError.for_code("connection_lost", short(error)) from error
        raise MailboxAuthError() from error
    except imap_exceptions.CapabilityError as error:
        raise CapabilityError(short(error)) from error
    except (imap_exceptions.IMAPClientError, imaplib.IMAP4.error) as error:
        if folder is not None and _names_a_missing_folder(str(error)):
            raise FolderNotFound() from error
        if isinstance(error, imaplib.IMAP4.abort):
            raise MailboxConnectionError.for_code(_abort_code(error), short(error)) from error
        raise MailError(short(error)) from error
    except (OSError, EOFError, ssl.SSLError) as error:
        code = classify(error)
        raise MailboxConnectionError.for_code("connection_lost" if code == "protocol_error" else code,
                                              short(error)) from error


_MISSING_FOLDER = ("NONEXISTENT", "TRYCREATE", "DOESN'T EXIST", "DOES NOT EXIST", "NO SUCH MAILBOX", "UNKNOWN MAILBOX")


def _names_a_missing_folder(text: str) -> bool:
    """Whether a refusal says the folder is not there: RFC 5530's [NONEXISTENT], RFC 3501's
    [TRYCREATE] (a COPY, MOVE or APPEND to a missing target; Gmail, Exchange), or the words of
    servers without either (Dovecot, Cyrus)."""
    upper = text.upper()
    return any(sign in upper for sign in _MISSING_FOLDER)


def _abort_code(error: imaplib.IMAP4.abort) -> str:
    # imaplib wraps every socket trouble in "abort"; the cause tells a timeout from a lost line
    cause = error.__cause__ or error.__context__
    return "timeout" if isinstance(cause, (socket.timeout, TimeoutError)) or "timed out" in str(error) \
        else "connection_lost"
