"""System mail (Mailversand): the host's own mail (password resets, notifications) through SMTP
settings of its own, queued in the same outbox as all other mail, without a Sent copy."""
from __future__ import annotations

from email.headerregistry import Address

from flask_babel import gettext as _

from .._state import mail_state
from ..config import attachment_limit
from ..errors import InvalidSettings, MailError
from ..mailboxes.service import wait_if_too_soon
from ..mime.build import OutgoingMessage, build_message
from ..models import OutboxItem, utcnow
from .outbox import store_built
from .smtp import submit as submit_smtp
from .system_settings import system_settings, system_smtp_settings


def send_system_mail(to: str | list[str], subject: str, text: str, html: str | None = None,
                     idempotency_key: str | None = None) -> OutboxItem:
    """Queue a system mail (no user, no mailbox, no Sent copy). Returns the outbox item."""
    settings = system_settings()
    _require_sender(settings)
    outgoing = OutgoingMessage(to=tuple([to] if isinstance(to, str) else to), subject=subject, text=text,
                               html=html, reply_to=(settings.reply_to,) if settings.reply_to else ())
    built = build_message(outgoing, settings.sender_name, settings.sender_address,
                          max_attachment_bytes=attachment_limit())
    return store_built("system", None, built, idempotency_key, None, None, None, "skipped")


def system_mail_sender() -> str:
    """The sender of system mail as the admin set it in Mailversand (``Name <address>``), e.g.
    for the host's own Flask-Mail ``Message(sender=...)``; raises :class:`InvalidSettings` when
    there is no sender address."""
    settings = system_settings()
    _require_sender(settings)
    # Unencoded: the message's own code encodes the name for its header.
    return str(Address(settings.sender_name, addr_spec=settings.sender_address))


def _require_sender(settings) -> None:
    if not settings.sender_address:
        raise InvalidSettings(_("System mail has no sender address configured."), field="sender_address")


def send_test_mail(to: str, min_interval: float = 0) -> None:
    """Send a test mail at once (not queued), so the admin sees the typed error right away.
    ``min_interval`` refuses a new test sooner than that many seconds after the last one."""
    settings = system_settings()
    wait_if_too_soon(settings.last_test_at, min_interval)
    built = build_message(OutgoingMessage(to=(to,), subject=_("Test mail from tricoma"),
                                          text=_("This is a test of the system mail settings.")),
                          settings.sender_name, settings.sender_address or settings.username)
    try:
        submit_smtp(system_smtp_settings(), built.sender, built.recipients(), built.as_bytes())
    except MailError as error:
        settings.last_test_result = error.user_message[:1000]
        settings.last_test_at = utcnow()
        mail_state().db.session.commit()
        raise
    settings.last_test_result = "ok"
    settings.last_test_at = utcnow()
    mail_state().db.session.commit()
