"""Which watcher watches: a lease in the database (one row), so that the watchers every web
process of the embedded default starts, or several ``flask v2-hosted watch`` processes, do not
each hold an IDLE connection per mailbox and each sync every change. The holder renews it each
time it reads what to watch; the others read it at the same pace and take over once it was
released (a graceful end) or ran out (a holder that died)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite

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
    if not renewed:  # no row yet (or a live holder's): insert unless one is there
        inserted = _insert_unless_there(session).values(id=ROW, owner=owner, until=until).returning(push_leader.c.id)
        renewed = session.execute(inserted).first() is not None  # (an INSERT's rowcount is not told everywhere)
    session.commit()
    return bool(renewed)


def _insert_unless_there(session):
    """An INSERT that does nothing where the row exists (no error in the server's log each time a
    standing-by watcher looks)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(push_leader).on_conflict_do_nothing(index_elements=["id"])
    if dialect == "sqlite":
        return sqlite.insert(push_leader).on_conflict_do_nothing(index_elements=["id"])
    return insert(push_leader)  # others: a second insert fails, as the primary key says


def release(owner: str) -> None:
    """Give the lease up (a watcher that ends): the next watcher to look takes it."""
    session = db_session()
    session.execute(delete(push_leader).where(push_leader.c.id == ROW, push_leader.c.owner == owner))
    session.commit()


def holder() -> str | None:
    """The owner of a live lease, if any."""
    row = db_session().execute(push_leader.select().where(push_leader.c.id == ROW)).first()
    return row.owner if row is not None and row.until > utcnow() else None
