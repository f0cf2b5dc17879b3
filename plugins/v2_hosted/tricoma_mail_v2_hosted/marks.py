"""Which mailboxes open in the v2 interface: those the hosting portal's import brought
(``portal_import.py``), and any an admin marks with ``flask v2-hosted mark``."""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import delete, select

from tricoma_mail_plugin import db_session, forget_versions, live_mailbox, utcnow, versioned_cache

from .tables import v2_mailboxes

SOURCES = ("cli", "settings", "portal")
#: the version core's triggers move on every write of ``v2_hosted_mailbox`` (migration v2_hosted_0005)
MARKS_KIND = "v2_hosted_marks"


def is_v2(mailbox_id: int) -> bool:
    return mailbox_id in _marked()


def _marked() -> frozenset[int]:
    """The marked mailboxes: every page's navigation asks for each mailbox the user may read
    which client it opens in. Each process keeps them until their version moves, which it reads
    with core's versions once per request (outside a request at most once a second); within a
    request they are kept in ``g`` too, so a database without the version yet (not migrated to
    v2_hosted_0005) is asked once per page, not once per mailbox."""
    if not has_request_context():
        return _remembered()
    marked = g.get(_MARKED_KEY)
    if marked is None:
        marked = _remembered()
        setattr(g, _MARKED_KEY, marked)
    return marked


def _remembered() -> frozenset[int]:
    return versioned_cache().get_or_load(MARKS_KIND, "marked", lambda: frozenset(v2_mailbox_ids()))


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
    session = db_session()
    # asked of the table, not of what the process remembers: that may be a second old in a job
    if session.scalar(select(v2_mailboxes.c.mailbox_id).where(v2_mailboxes.c.mailbox_id == mailbox_id)) is not None:
        return False
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
    """The caller wrote the marks: its next question reads the versions again (the triggers moved
    the marks' one) and so the marks."""
    forget_versions()
    if has_request_context():
        g.pop(_MARKED_KEY, None)
