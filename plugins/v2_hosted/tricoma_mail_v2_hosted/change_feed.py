"""The feed of changes the push engine found, per mailbox: written by the process that holds the
IDLE connections (the web process or ``flask v2-hosted watch``), read by every web process's
event stream. A database table, so the two need not share memory."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from tricoma_mail_plugin import db_session, utcnow

from .tables import changes

KEPT = timedelta(hours=1)


@dataclass(frozen=True)
class Change:
    id: int
    mailbox_id: int
    folder: str
    kind: str


def record_change(mailbox_id: int, folder: str, kind: str) -> int:
    session = db_session()
    result = session.execute(changes.insert().values(mailbox_id=mailbox_id, folder=folder, kind=kind,
                                                     created_at=utcnow()))
    session.commit()
    return result.inserted_primary_key[0]


def last_change_id(mailbox_id: int) -> int:
    return db_session().scalar(select(func.max(changes.c.id)).where(changes.c.mailbox_id == mailbox_id)) or 0


def changes_after(mailbox_id: int, after: int) -> list[Change]:
    rows = db_session().execute(
        select(changes.c.id, changes.c.mailbox_id, changes.c.folder, changes.c.kind)
        .where(changes.c.mailbox_id == mailbox_id, changes.c.id > after).order_by(changes.c.id)).all()
    return [Change(*row) for row in rows]


def forget_old_changes() -> int:
    session = db_session()
    result = session.execute(delete(changes).where(changes.c.created_at < utcnow() - KEPT))
    session.commit()
    return result.rowcount or 0
