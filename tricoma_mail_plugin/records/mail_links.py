"""Links between mail and business records (S3), and each record's mail history.

A mail sent from a record is linked when it is queued; a reply is linked when sync sees a
message whose In-Reply-To or References name a linked mail (the built-in plugin
``plugins.defaults.reply_links`` does that through ``messages_received``).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

from flask import g
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..models import CachedFolder, CachedMessage, OutboxItem, RecordLink
from .references import Reference

_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True)
class HistoryEntry:
    direction: str  # "sent" or "received"
    at: datetime
    subject: str
    counterpart: str
    message_id: str
    mailbox_id: int | None
    state: str | None  # the outbox state of a sent mail ("queued", "sent", "failed"…)
    sent_copy: str | None
    message_pk: int | None  # the synced message, when it is in the cache


def link(reference: Reference, mailbox_id: int | None, message_id: str, direction: str, subject: str,
         counterpart: str, outbox_item_id: int | None = None) -> None:
    """Link one mail to a record (idempotent). Commits."""
    session = mail_state().db.session
    session.add(RecordLink(reference=str(reference), mailbox_id=mailbox_id, message_id=message_id,
                           direction=direction, outbox_item_id=outbox_item_id, subject=subject[:1000],
                           counterpart=counterpart[:1000]))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    g.pop(_LINKED_CACHE, None)


def references_of(message_ids: str) -> list[str]:
    return _MESSAGE_IDS.findall(message_ids or "")


def link_replies(mailbox_id: int, summaries) -> None:
    """:func:`link_reply` for each of a synced batch's summaries; nothing to look for while no
    mail is linked at all (a sync's first 10,000 messages spent 20 ms on the references of each)."""
    if not _linked_message_ids():
        return
    for summary in summaries:
        link_reply(mailbox_id, summary.message_id, summary.in_reply_to, summary.references, summary.subject,
                   summary.from_)


def link_reply(mailbox_id: int, message_id: str, in_reply_to: str, references: str, subject: str,
               sender: str) -> list[Reference]:
    """Link a received message to every record that a mail it answers is linked to."""
    if not message_id or not (in_reply_to or references):
        return []
    known = _linked_message_ids()
    parents = [parent for parent in references_of(in_reply_to) + references_of(references) if parent in known]
    if not parents:
        return []
    session = mail_state().db.session
    records = session.scalars(select(RecordLink.reference).where(RecordLink.message_id.in_(parents)).distinct())
    linked = []
    for text in list(records):
        reference = Reference.parse(text)
        link(reference, mailbox_id, message_id, "received", subject, sender)
        linked.append(reference)
    return linked


_LINKED_CACHE = "_tricoma_mail_linked_ids"
_LINKED_CACHE_SECONDS = 5.0


def _linked_message_ids() -> frozenset[str]:
    """Message-IDs of every linked mail, cached for a few seconds per app context, so that sync
    can check thousands of new messages without a query each."""
    cached = g.get(_LINKED_CACHE)
    now = time.monotonic()
    if cached is None or now - cached[0] > _LINKED_CACHE_SECONDS:
        ids = frozenset(mail_state().db.session.scalars(select(RecordLink.message_id).distinct()))
        cached = (now, ids)
        setattr(g, _LINKED_CACHE, cached)
    return cached[1]


def history(reference: Reference) -> list[HistoryEntry]:
    """Every mail linked to the record, newest first, with the outbox state of sent mail."""
    session = mail_state().db.session
    rows = session.execute(
        select(RecordLink, OutboxItem.state, OutboxItem.sent_copy)
        .outerjoin(OutboxItem, OutboxItem.id == RecordLink.outbox_item_id)
        .where(RecordLink.reference == str(reference))
        .order_by(RecordLink.at.desc(), RecordLink.id.desc())
    ).all()
    entries = []
    for link_row, state, sent_copy in rows:
        entries.append(HistoryEntry(link_row.direction, link_row.at, link_row.subject, link_row.counterpart,
                                    link_row.message_id, link_row.mailbox_id, state, sent_copy,
                                    _cached_pk(link_row.mailbox_id, link_row.message_id)))
    return entries


# Built once: every reading page asks, and building the statement costs more than running it.
_LINKS_OF_MESSAGE = select(RecordLink.reference).where(
    RecordLink.message_id == bindparam("message_id"), RecordLink.mailbox_id == bindparam("mailbox_id")).distinct()


def links_for_message(mailbox_id: int, message_id: str) -> list[Reference]:
    """The records a mail of ``mailbox_id`` is linked to (for "linked to invoice …" in the mail view)."""
    if not message_id:
        return []
    rows = mail_state().db.session.scalars(_LINKS_OF_MESSAGE, {"message_id": message_id, "mailbox_id": mailbox_id})
    return [Reference.parse(text) for text in rows]



def _cached_pk(mailbox_id: int | None, message_id: str) -> int | None:
    if mailbox_id is None:
        return None
    return mail_state().db.session.scalar(
        select(CachedMessage.id).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == mailbox_id, CachedMessage.message_id == message_id).limit(1))
