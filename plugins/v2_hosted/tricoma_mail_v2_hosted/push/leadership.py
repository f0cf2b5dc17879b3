"""Which watcher watches: a lease in the database (one row), so that the watchers every web
process of the embedded default starts, or several ``flask v2-hosted watch`` processes, do not
each hold an IDLE connection per mailbox and each sync every change. The holder renews it each
time it reads what to watch (every 30 s); the others look every few seconds and take over once
it was released (a graceful end) or ran out (a holder that died or lost its database)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, update

from tricoma_mail_plugin import db_session, insert_ignoring_duplicates, utcnow

from ..tables import push_leader

ROW = 1


def hold(owner: str, seconds: float) -> bool:
    """Take or renew the lease for ``owner`` for ``seconds``; False while another holds it."""
    session = db_session()
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    renewed = session.execute(
        update(push_leader).where(push_leader.c.id == ROW,
                                  or_(push_leader.c.owner == owner, push_leader.c.until < now))
        .values(owner=owner, until=until)).rowcount
    if not renewed:  # no row yet (or a live holder's): insert unless one is there
        # (skipping a live holder's row quietly: no error in the server's log at each look; an
        # INSERT's rowcount is not told everywhere, the row it returns is)
        inserted = insert_ignoring_duplicates(session, push_leader).values(id=ROW, owner=owner, until=until)
        renewed = session.execute(inserted.returning(push_leader.c.id)).first() is not None
    session.commit()
    return bool(renewed)


def release(owner: str) -> None:
    """Give the lease up (a watcher that ends): the next watcher to look takes it."""
    session = db_session()
    session.execute(delete(push_leader).where(push_leader.c.id == ROW, push_leader.c.owner == owner))
    session.commit()


def holder() -> str | None:
    """The owner of a live lease, if any."""
    row = db_session().execute(push_leader.select().where(push_leader.c.id == ROW)).first()
    return row.owner if row is not None and row.until > utcnow() else None
