"""Core's exception tree.

Every error a plugin, a view or the CLI may need to tell apart derives from :class:`MailError`.
Library errors (imaplib, smtplib, ssl, socket) are translated into these leaves at the backend's
edge, so callers never catch a library's exception. ``user_message`` is safe to show to a user: it
never contains a secret.
"""
from __future__ import annotations

from ._i18n import _l


class MailError(Exception):
    """Base of every error raised by tricoma mail."""

    default_message = _l("The mail system reported an error.")

    def __init__(self, message: str | None = None, detail: str | None = None) -> None:
        super().__init__(message or str(self.default_message))
        #: What the library or the server said, for admins and logs (never for users' eyes
        #: only: it may name hosts and ports, never a secret).
        self.detail = detail

    @property
    def user_message(self) -> str:
        return str(self.args[0]) if self.args else str(self.default_message)


class PluginError(MailError):
    """A plugin could not be loaded or one of its hooks failed."""

    default_message = _l("A plugin failed.")


class UnknownPlugin(PluginError):
    """No installed plugin has this name."""

    default_message = _l("There is no plugin of that name.")


class SendVetoed(MailError):
    """Raised by a ``before_send`` hook to stop a message from being queued.

    The message is shown to the user, so say why in words they understand.
    """

    default_message = _l("A plugin refused to send this message.")


class NotAllowed(MailError):
    """The user lacks the right for this action."""

    default_message = _l("You are not allowed to do this.")


class MailboxConnectionError(MailError):
    """The mail server could not be reached or dropped the connection."""

    default_message = _l("The mail server could not be reached.")

    #: What users read for a fault a backend classified (``TestStep`` codes); the library's
    #: words go to ``detail``.
    messages = {
        "connection_lost": _l("The connection to the mail server was lost. The next sync continues "
                              "where this one stopped."),
        "timeout": _l("The mail server stopped answering. The next sync continues where this one stopped."),
        "tls_failed": _l("The encrypted connection to the mail server failed."),
        "certificate_invalid": _l("The mail server's certificate is not valid for this host or not trusted."),
    }

    @classmethod
    def for_code(cls, code: str, detail: str | None = None) -> "MailboxConnectionError":
        message = cls.messages.get(code)
        return cls(str(message) if message is not None else None, detail=detail)


class ServerNotAllowed(MailboxConnectionError):
    """The mail server's address is on a loopback, private, link-local or reserved network and
    not on the allow list (see ``mailboxes/address_policy.py``): no connection was opened. The
    message says no more than "could not connect"; ``detail`` (the addresses) is for admins."""

    default_message = _l("Could not connect to the mail server.")


class SyncBusy(MailError):
    """Another process is syncing this mailbox and did not finish in time."""

    default_message = _l("Another process is synchronising this mailbox right now. Try again in a moment.")


class MailboxAuthError(MailError):
    """The mail server refused the credentials."""

    default_message = _l("The mail server refused the user name or password.")


class SignInRequired(MailboxAuthError):
    """The mailbox logs in with OAuth2 and has no usable token: nobody signed in yet, or the
    provider refused to refresh (consent revoked, password changed, refresh token expired).
    Nothing is tried with the provider again until someone signs in."""

    default_message = _l("This mailbox needs a new sign-in with its provider. Until then it is not "
                         "synchronised and its mail waits in the outbox.")


class OAuthFailure(MailError):
    """The OAuth2 provider refused to issue a token or could not be asked. ``code`` is a typed
    connection-test code (``wrong_client_secret``, ``missing_scope``, ``wrong_tenant``…)."""

    default_message = _l("The sign-in provider did not issue a token.")

    def __init__(self, code: str, message: str | None = None, detail: str | None = None) -> None:
        super().__init__(message, detail)
        self.code = code


class CapabilityError(MailError):
    """The server lacks an extension this operation needs."""

    default_message = _l("The mail server does not support this operation.")


class SieveScriptRejected(MailError):
    """The ManageSieve server refused a filter script; ``server_message`` is its own words
    (Dovecot names the line: "line 3: error: …"), ``line`` the first line it names, if any."""

    default_message = _l("The mail server refused the filter script.")

    def __init__(self, server_message: str, line: int | None = None) -> None:
        super().__init__(None, server_message)
        self.server_message = server_message
        self.line = line


class FolderNotFound(MailError):
    """No folder of that name (or for that role) exists on the server."""

    default_message = _l("The folder does not exist.")


class SendRefused(MailError):
    """The SMTP server refused the message for good (a 5xx reply)."""

    default_message = _l("The mail server refused the message.")


class SendUncertain(MailError):
    """The connection ended after the message data was sent but before the server's reply.

    The message may or may not have been accepted; it is never resent automatically.
    """

    default_message = _l("It is unknown whether the mail server accepted the message.")


class MailboxNotFound(MailError):
    """No mailbox of that id exists for this user (also said when the user may not see it, so
    that ids of other mailboxes reveal nothing)."""

    default_message = _l("There is no such mailbox.")


class InvalidSettings(MailError):
    """A mailbox setting is invalid; ``field`` names which one."""

    default_message = _l("A setting is invalid.")

    def __init__(self, message: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MessageNotFound(MailError):
    """The message is not (or no longer) in that folder."""

    default_message = _l("The message does not exist (any more).")


class TooSoon(MailError):
    """An action that talks to a server was asked for again too soon (rate limit)."""

    default_message = _l("Please wait a few seconds before trying again.")


class ArchiveWriteFailed(MailError):
    """A mail could not be written to the archive; the operation that brought it (a sync, a
    send) stops instead of going on without the archive entry."""

    default_message = _l("The mail could not be written to the archive; nothing was lost, it is tried again.")
