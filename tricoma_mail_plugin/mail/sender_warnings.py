"""The sender check of the reading view: the contacts apps know (``known_senders`` hook) and the
app's settings, handed to the pure check in ``sender_check/``."""
from __future__ import annotations

import logging

from flask import current_app

from .._state import mail_state
from ..cache.bodies import raw_message
from ..mailboxes.backend import MailboxBackend
from ..mailboxes.info import MailboxInfo
from ..models import Mailbox
from ..sender_check import DnsLookup, KnownSender, SenderWarning, check_message
from ..sender_check.dkim_check import real_dns_lookup

log = logging.getLogger(__name__)


def known_senders(mailbox: Mailbox) -> list[KnownSender]:
    """Every contact the enabled apps know, for mail of ``mailbox``."""
    known: list[KnownSender] = []
    for contacts in mail_state().hooks.call("known_senders", mailbox=MailboxInfo.of(mailbox)):
        known.extend(contact for contact in contacts or () if isinstance(contact, KnownSender))
    return known


def dkim_lookup() -> DnsLookup | None:
    """How our own DKIM check finds keys (``TRICOMA_MAIL_DKIM_LOOKUP``): ``None`` for none."""
    configured = current_app.config.get("TRICOMA_MAIL_DKIM_LOOKUP")
    if configured == "dns":
        return real_dns_lookup
    return configured if callable(configured) else None


def sender_warnings(mailbox: Mailbox, message_pk: int,
                    backend: MailboxBackend | None = None) -> tuple[SenderWarning, ...]:
    """The warnings the reading view shows above one cached message (none when all is well)."""
    raw = raw_message(mailbox, message_pk, backend)
    known = known_senders(mailbox)
    try:
        return check_message(raw, known,
                             trusted_authserv_ids=tuple(current_app.config.get("TRICOMA_MAIL_AUTHSERV_IDS") or ()),
                             dkim_lookup=dkim_lookup())
    except Exception:  # noqa: BLE001 - a fault in the check must never hide the mail itself
        log.exception("the sender check failed on message %s of mailbox %s", message_pk, mailbox.id)
        return ()
