"""How a mailbox is offered as the sender of a mail: by its title, then as the mail will go out."""
from __future__ import annotations

from ..mime.headers import address_text
from ..models import Mailbox


def from_label(mailbox: Mailbox) -> str:
    """The mailbox's title, then its From header as a mail from it will read: ``Name <address>``,
    or the address alone where the mailbox has no sender name (it goes out without one). The
    title alone where the header says it already. The choice never promises a name the mail
    will not carry."""
    address = mailbox.email or mailbox.imap_username or ""
    name = mailbox.sender_name or ""
    header = address_text(name, address) if address else name  # as the header writes it (a name with a comma quoted)
    if not header or mailbox.title == header:
        return mailbox.title or header
    if not mailbox.title or mailbox.title in (name, address):
        return header
    return f"{mailbox.title} · {header}"
