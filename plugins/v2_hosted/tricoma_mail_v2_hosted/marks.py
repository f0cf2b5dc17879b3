"""Which mailboxes open in the v2 interface: those the hosting portal's import brought
(``portal_import.py``), and any an admin marks with ``flask v2-hosted mark``."""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import delete, select

from tricoma_mail_plugin import db_session, live_mailbox, utcnow

from .tables import v2_mailboxes

SOURCES = ("cli", "settings", "portal")


def is_v2(mailbox_id: int) -> bool:
    return mailbox_id in _marked()


def _marked() -> frozenset[int]:
    """The marked mailboxes, read once per request: every page's navigation asks for each
    mailbox the user may read which client it opens in."""
    if not has_request_context():
        return frozenset(v2_mailbox_ids())
    marked = g.get(_MARKED_KEY)
    if marked is None:
        marked = frozenset(v2_mailbox_ids())
        setattr(g, _MARKED_KEY, marked)
    return marked


_MARKED_KEY = "tricoma_v2_marked_mailboxes"


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
    _forget_marked()
    return True


def unmark(mailbox_id: int) -> bool:
    """Back to v1. False when it was not marked."""
    session = db_session()
    result = session.execute(delete(v2_mailboxes).where(v2_mailboxes.c.mailbox_id == mailbox_id))
    session.commit()
    _forget_marked()
    return bool(result.rowcount)


def _forget_marked() -> None:
    if has_request_context():
        g.pop(_MARKED_KEY, None)
