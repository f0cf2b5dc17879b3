"""Conversation identity for team mail: a :class:`TeamThread` per (mailbox, conversation), found
by the Message-IDs of the conversation's messages.

A conversation is keyed by Message-ID (RFC 5322 §3.6.4), never by UID or folder: a resync, a
move to another folder or the same mail read in Thunderbird leaves its Message-IDs as they are,
so the state stored with the thread stays with it. A thread records every ID it was asked with
(a message's own ID, its In-Reply-To and References), so a later reply that names any of them
finds the same thread.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..models import utcnow
from .tables import TeamThread, TeamThreadMessage

_ID = re.compile(r"<[^<>\s]{1,996}>")
#: at most this many IDs are looked up or recorded per call (a References header can be long)
MAX_IDS = 200


def _session():
    return mail_state().db.session


def normal_ids(message_ids: Iterable[str]) -> list[str]:
    """The Message-IDs among ``message_ids`` (each may be a whole header), lower case with their
    angle brackets, without repeats, in order."""
    found: dict[str, None] = {}
    for value in message_ids:
        for one in _ID.findall(value or ""):
            found.setdefault(one.lower(), None)
    return list(found)[:MAX_IDS]


def thread_for(mailbox_id: int, message_ids: Iterable[str], *, create: bool = False) -> TeamThread | None:
    """The thread any of ``message_ids`` belongs to in the mailbox, or ``None``.

    With ``create=True`` a thread is made when none is found, and the IDs not yet recorded are
    added to the thread found (in the caller's transaction; the caller commits). When the IDs
    name several threads (two conversations that a later reply joins), the oldest wins.
    """
    ids = normal_ids(message_ids)
    if not ids:
        return None
    session = _session()
    rows = session.execute(
        select(TeamThreadMessage.message_id, TeamThreadMessage.thread_id)
        .where(TeamThreadMessage.mailbox_id == mailbox_id, TeamThreadMessage.message_id.in_(ids))).all()
    known = {message_id: thread_id for message_id, thread_id in rows}
    thread = session.get(TeamThread, min(known.values())) if known else None
    if not create:
        return thread
    if thread is None:
        thread = TeamThread(mailbox_id=mailbox_id, created_at=utcnow(), updated_at=utcnow(), status="open")
        session.add(thread)
        session.flush()
    missing = [message_id for message_id in ids if message_id not in known]
    if missing:
        _record(thread, missing)
    return thread


def _record(thread: TeamThread, message_ids: list[str]) -> None:
    """Add the IDs in a savepoint each batch: another process may record one of them at the
    same moment (the unique key refuses the second); then they are added one by one."""
    session = _session()
    try:
        with session.begin_nested():
            session.add_all([TeamThreadMessage(thread_id=thread.id, mailbox_id=thread.mailbox_id, message_id=value)
                             for value in message_ids])
    except IntegrityError:
        for value in message_ids:
            try:
                with session.begin_nested():
                    session.add(TeamThreadMessage(thread_id=thread.id, mailbox_id=thread.mailbox_id, message_id=value))
            except IntegrityError:
                pass  # recorded meanwhile (for this thread or another): the first one stays


def threads_for(mailbox_id: int, groups: list[Iterable[str]]) -> list[TeamThread | None]:
    """For each group of Message-IDs (one conversation each), its thread or ``None``, with one
    query for all groups: what a list of conversations needs."""
    normal = [normal_ids(group) for group in groups]
    every = sorted({value for ids in normal for value in ids})
    session = _session()
    known: dict[str, int] = {}
    for start in range(0, len(every), 500):
        chunk = every[start:start + 500]
        known.update(session.execute(
            select(TeamThreadMessage.message_id, TeamThreadMessage.thread_id)
            .where(TeamThreadMessage.mailbox_id == mailbox_id, TeamThreadMessage.message_id.in_(chunk))).all())
    thread_ids = sorted(set(known.values()))
    threads = {thread.id: thread for thread in session.scalars(select(TeamThread).where(TeamThread.id.in_(thread_ids)))} \
        if thread_ids else {}
    result: list[TeamThread | None] = []
    for ids in normal:
        found = [known[value] for value in ids if value in known]
        result.append(threads.get(min(found)) if found else None)
    return result


def message_ids_of(thread_id: int) -> list[str]:
    return list(_session().scalars(select(TeamThreadMessage.message_id)
                                   .where(TeamThreadMessage.thread_id == thread_id).order_by(TeamThreadMessage.id)))
