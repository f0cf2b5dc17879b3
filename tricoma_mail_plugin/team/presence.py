"""Who is answering: while a user has a reply open on a conversation, everyone else who opens
it sees "Anna is answering (since 10:42)", live.

The open editor says so when it opens (:func:`start`), gives a sign of life every few seconds
(:func:`beat`: an editor that stopped, with a closed laptop say, is over after
:data:`state.PRESENCE_SECONDS`), and says when it closes (:func:`stop`), and whether its reply
was sent: then the others' open editors show "Anna has sent a reply" before they send theirs.
Starting and stopping record a ``team`` event, so open pages learn it through the change feed
within a poll of the event stream.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, update

from ..errors import MessageNotFound
from ..models import is_row_id, utcnow
from ..rights import access
from .state import TeamState, _done, _event, _session, _thread
from .tables import TeamPresence, TeamThread


def start(user, mailbox_id: int, message_ids: Iterable[str]) -> TeamState:
    """``user`` opened a reply on the conversation. The state answered names the others who
    are answering it already (the page asks "reply anyway?" before this call)."""
    access.require(user, mailbox_id, "read")
    thread = _thread(mailbox_id, message_ids)
    session = _session()
    user_id = str(user.get_id())
    now = utcnow()
    row = session.get(TeamPresence, (thread.id, user_id))
    if row is None:
        session.add(TeamPresence(thread_id=thread.id, user_id=user_id, started_at=now, seen_at=now))
    else:
        row.started_at, row.seen_at = now, now
    _event(thread, "presence", user_id=user_id, answering=True)
    return _done(thread)


def beat(user, mailbox_id: int, thread_id: int) -> bool:
    """The open editor is still there. False when it was not known (it ended meanwhile)."""
    access.require(user, mailbox_id, "read")
    thread = _own_thread(mailbox_id, thread_id)
    session = _session()
    result = session.execute(
        update(TeamPresence).where(TeamPresence.thread_id == thread.id, TeamPresence.user_id == str(user.get_id()))
        .values(seen_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    return bool(result.rowcount)


def stop(user, mailbox_id: int, thread_id: int, *, sent: bool = False) -> TeamState:
    """The editor closed; ``sent``: its reply was sent (the others are shown that)."""
    access.require(user, mailbox_id, "read")
    session = _session()
    thread = _own_thread(mailbox_id, thread_id)
    user_id = str(user.get_id())
    session.execute(delete(TeamPresence).where(TeamPresence.thread_id == thread.id, TeamPresence.user_id == user_id)
                    .execution_options(synchronize_session=False))
    if sent:
        thread.replied_by, thread.replied_at = user_id, utcnow()
        thread.updated_at = thread.replied_at
    _event(thread, "presence", user_id=user_id, answering=False, sent=sent)
    return _done(thread)


def _own_thread(mailbox_id: int, thread_id: int) -> TeamThread:
    """The thread ``thread_id`` of this mailbox; another mailbox's or none: not found (404)."""
    thread = _session().get(TeamThread, thread_id) if is_row_id(thread_id) else None
    if thread is None or thread.mailbox_id != mailbox_id:
        raise MessageNotFound(str(_l("This conversation does not exist (any more).")))
    return thread


__all__ = ["beat", "start", "stop"]
