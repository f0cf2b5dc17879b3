"""Address completion for the compose form: earlier correspondents, found in the senders and
recipients of the cached messages of the mailboxes the user may read."""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import getaddresses

from sqlalchemy import or_, select

from .._state import mail_state
from ..mime.headers import address_text
from ..models import CachedFolder, CachedMessage
from ..rights import access

SCANNED_ROWS = 300


@dataclass(frozen=True)
class Correspondent:
    name: str
    email: str

    def __str__(self) -> str:
        return address_text(self.name, self.email)  # a name with a comma quoted: one address


def correspondents(user, typed: str, limit: int = 10) -> list[Correspondent]:
    """Up to ``limit`` distinct addresses whose name or address contains ``typed`` (at least two
    characters), most recent correspondence first."""
    typed = " ".join((typed or "").split())[:100]
    if len(typed) < 2:
        return []
    mailbox_ids = [mailbox.id for mailbox in access.mailboxes_with(user, "read")]
    if not mailbox_ids:
        return []
    pattern = "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = mail_state().db.session.execute(
        select(CachedMessage.from_, CachedMessage.to, CachedMessage.cc)
        .join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id.in_(mailbox_ids),
               or_(CachedMessage.from_.ilike(pattern, escape="\\"), CachedMessage.to.ilike(pattern, escape="\\"),
                   CachedMessage.cc.ilike(pattern, escape="\\")))
        .order_by(CachedMessage.date.desc()).limit(SCANNED_ROWS)).all()
    needle = typed.lower()
    found: dict[str, Correspondent] = {}
    for row in rows:
        for name, email in getaddresses([value for value in row if value]):
            email = email.strip()
            key = email.lower()
            if "@" not in email or key in found or "\n" in email or "\r" in email:
                continue
            if needle in key or needle in name.lower():
                found[key] = Correspondent(" ".join(name.split()), email)
                if len(found) >= limit:
                    return list(found.values())
    return list(found.values())
