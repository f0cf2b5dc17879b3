"""Which mailboxes open in the v2 interface: those the hosting portal's import brought
(``portal_import.py``), and any an admin marks with ``flask v2-hosted mark``."""
from __future__ import annotations

from sqlalchemy import delete, select

from tricoma_mail_plugin import db_session, live_mailbox, utcnow

from .tables import v2_mailboxes

SOURCES = ("cli", "settings", "portal")


def is_v2(mailbox_id: int) -> bool:
    return db_session().scalar(select(v2_mailboxes.c.mailbox_id).where(v2_mailboxes.c.mailbox_id == mailbox_id)) is not None


def v2_mailbox_ids() -> list[int]:
    return list(db_session().scalars(select(v2_mailboxes.c.mailbox_id).order_by(v2_mailboxes.c.mailbox_id)))


def mark(mailbox_id: int, source: str = "cli") -> bool:
    """Open ``mailbox_id`` in v2 from now on. False when it was marked already. Raises
    ``LookupError`` for a mailbox that does not exist."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if live_mailbox(mailbox_id) is None:
        raise LookupError(mailbox_id)
    if is_v2(mailbox_id):
        return False
    session = db_session()
    session.execute(v2_mailboxes.insert().values(mailbox_id=mailbox_id, source=source, marked_at=utcnow()))
    session.commit()
    return True


def unmark(mailbox_id: int) -> bool:
    """Back to v1. False when it was not marked."""
    session = db_session()
    result = session.execute(delete(v2_mailboxes).where(v2_mailboxes.c.mailbox_id == mailbox_id))
    session.commit()
    return bool(result.rowcount)
