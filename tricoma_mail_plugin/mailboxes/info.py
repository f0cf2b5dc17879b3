"""What plugins are told about a mailbox: a frozen value, never the database row."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class MailboxInfo:
    """One mailbox as hooks receive it (``resolve_folder``, ``before_send``,
    ``message_received``). It holds no password and no server settings."""

    id: int
    title: str
    email: str
    kind: str  # the backend's kind, e.g. "imap"
    sender_name: str = ""
    # The admin's folder per role (e.g. {"sent": "Gesendet"}); roles not in it are detected.
    folder_roles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    usable: bool = False  # the last connection test passed and the mailbox is not deleted

    @classmethod
    def of(cls, mailbox) -> "MailboxInfo":
        """The value of a mailbox row (a ``MailboxInfo`` is returned as it is)."""
        if isinstance(mailbox, MailboxInfo):
            return mailbox
        return cls(
            id=mailbox.id,
            title=mailbox.title or "",
            email=mailbox.email or "",
            kind=mailbox.kind,
            sender_name=mailbox.sender_name or "",
            folder_roles=MappingProxyType(dict(mailbox.folder_roles or {})),
            usable=bool(mailbox.usable),
        )
