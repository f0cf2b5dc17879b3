"""``received`` events stored by reference: a sync records one per new message, and the
message's summary is already in the same transaction as its cached row. The event row keeps the
folder, the UID and where the row is (its folder's id and UIDVALIDITY), not a second copy of the
summary: a sync of 10,000 messages wrote 7 MB of payloads and spent a third of its storing time
encoding, inserting and marking them. The documented payload (``folder`` and every field of the
summary) is made when a hook asks for it: from the summary in memory when the sync delivers its
own events, from the cached row when a later run delivers them (:func:`complete_received`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select

from .._state import mail_state
from ..bulk_insert import one_of
from ..mailboxes.backend import MessageSummary
from ..models import CachedFolder, CachedMessage
from .values import Event, received_payload

_CACHED = "cached"  # the payload key of a reference: [folder id, UIDVALIDITY]
_UNDATED = "undated"  # the message had no readable Date header


def received_references(folder: CachedFolder, summaries: Sequence[MessageSummary]) -> list[dict]:
    """The stored payloads of the ``received`` events of ``summaries``, just cached in ``folder``.
    A message without a readable Date header says so: its cached row holds the arrival time
    there instead (the list sorts by it), and the payload made from the row must not."""
    name, cached = folder.name, [folder.id, folder.uidvalidity]
    references = []
    for summary in summaries:
        reference = {"folder": name, "uid": summary.uid, _CACHED: cached}
        if summary.date is None:
            reference[_UNDATED] = True
        references.append(reference)
    return references


def is_reference(payload) -> bool:
    return _CACHED in payload


def holds_summary(payload) -> bool:
    """Whether a ``received`` event's payload holds the message's summary: not a reference, and
    not what is left of one whose message had gone (:func:`complete_received`)."""
    return "message_id" in payload


def full_payload(payload, summary: MessageSummary | None) -> dict:
    """The documented payload of a ``received`` event: ``payload`` itself when it was stored in
    full (or no summary is at hand), else the folder and every field of ``summary``."""
    if summary is None or not is_reference(payload):
        return payload
    return received_payload(payload["folder"], summary)


def complete_received(events: list[Event]) -> list[Event]:
    """``events`` with the payload of each ``received`` reference made whole from the message's
    cached row. A message that left the cache before its event was delivered (a process stopped
    between the sync's commit and the delivery, and the message was expunged or its folder
    renumbered meanwhile) keeps only ``folder`` and ``uid``. The row is that folder's in that
    mailbox, under the same name and UIDVALIDITY: SQLite may give a dropped folder's id to a new
    one. Its flags are those of the row now, not at arrival."""
    wanted: dict[tuple, list[int]] = {}
    for event in events:
        if event.name == "received" and is_reference(event.payload):
            wanted.setdefault(_place(event), []).append(event.payload["uid"])
    if not wanted:
        return events
    found: dict[tuple, MessageSummary] = {}
    session = mail_state().db.session
    for place, uids in wanted.items():
        mailbox_id, folder_id, uidvalidity, name = place
        rows = session.execute(
            select(CachedMessage).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedMessage.folder_id == folder_id, CachedFolder.uidvalidity == uidvalidity,
                   CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == name,
                   one_of(session, CachedMessage.uid, uids))).scalars()
        for row in rows:
            found[(*place, row.uid)] = summary_of_row(row)
    completed = []
    for event in events:
        if event.name == "received" and is_reference(event.payload):
            summary = found.get((*_place(event), event.payload["uid"]))
            if summary is None:
                payload = {"folder": event.payload["folder"], "uid": event.payload["uid"]}
            else:
                if event.payload.get(_UNDATED):
                    summary = replace(summary, date=None)
                payload = received_payload(event.payload["folder"], summary)
            event = Event.of_values(event.id, event.name, event.mailbox_id, payload, event.created_at)
        completed.append(event)
    return completed


def _place(event: Event) -> tuple:
    """(mailbox id, folder id, UIDVALIDITY, folder name) of a reference."""
    folder_id, uidvalidity = event.payload[_CACHED]
    return event.mailbox_id, folder_id, uidvalidity, event.payload["folder"]


def summary_of_row(row: CachedMessage) -> MessageSummary:
    """The summary a cached row holds (its ``date`` is the arrival time when the message had no
    readable Date header: the cache keeps no empty date)."""
    return MessageSummary(
        uid=row.uid, flags=tuple((row.flags or "").split()), size=row.size or 0, internal_date=row.internal_date,
        from_=row.from_ or "", to=row.to or "", cc=row.cc or "", subject=row.subject or "", date=row.date,
        message_id=row.message_id or "", in_reply_to=row.in_reply_to or "", references=row.references or "",
        has_attachment=bool(row.has_attachment), preview=row.preview or "", modseq=row.modseq)
