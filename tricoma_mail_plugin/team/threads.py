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
from ..models import Mailbox, RecordLink, utcnow
from ..rights import access
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


def linked_message_ids(reference, user=None) -> list[tuple[Mailbox, dict[str, str]]]:
    """The mail linked to ``reference`` (a record: a :class:`Reference` or its text), per live
    mailbox: its Message-IDs (normal form, as conversations are keyed) with the subject of each
    link; with ``user``, only the mailboxes the user may read. What a record's page finds its
    conversations by (notes, snoozes), at the time of asking."""
    session = mail_state().db.session
    links = session.execute(select(RecordLink.mailbox_id, RecordLink.message_id, RecordLink.subject)
                            .where(RecordLink.reference == str(reference), RecordLink.mailbox_id.is_not(None))
                            .order_by(RecordLink.id)).all()
    by_mailbox: dict[int, dict[str, str]] = {}
    for mailbox_id, message_id, subject in links:
        for value in normal_ids([message_id]):
            by_mailbox.setdefault(mailbox_id, {}).setdefault(value, subject or "")
    found = []
    for mailbox_id, subjects in by_mailbox.items():
        if user is not None and "read" not in access.effective_rights(user, mailbox_id):
            continue
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is not None and mailbox.deleted_at is None:
            found.append((mailbox, subjects))
    return found
