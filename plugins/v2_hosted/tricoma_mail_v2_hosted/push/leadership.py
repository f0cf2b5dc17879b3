"""Which watcher watches: a lease in the database (one row), so that the watchers every web
process of the embedded default starts, or several ``flask v2-hosted watch`` processes, do not
each hold an IDLE connection per mailbox and each sync every change. The holder renews it each
time it reads what to watch; the others read it at the same pace and take over once it was
released (a graceful end) or ran out (a holder that died)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError

from tricoma_mail_plugin import db_session, utcnow

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
    if not renewed:
        try:
            session.execute(insert(push_leader).values(id=ROW, owner=owner, until=until))
        except IntegrityError:  # a live holder's row
            session.rollback()
            return False
    session.commit()
    return True


def release(owner: str) -> None:
    """Give the lease up (a watcher that ends): the next watcher to look takes it."""
    session = db_session()
    session.execute(delete(push_leader).where(push_leader.c.id == ROW, push_leader.c.owner == owner))
    session.commit()


def holder() -> str | None:
    """The owner of a live lease, if any."""
    row = db_session().execute(push_leader.select().where(push_leader.c.id == ROW)).first()
    return row.owner if row is not None and row.until > utcnow() else None
