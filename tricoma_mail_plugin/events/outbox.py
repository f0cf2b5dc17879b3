"""The outbox of events: record an event in the caller's transaction; deliver pending events to
the hooks after the commit, at least once.

A change and its event are committed together, so there is never one without the other. Each
event row is marked delivered after its hooks were called; a process that stops in between
leaves it pending, and the next delivery run (the outbox worker, the sync, or the next change
in any process) delivers it. Two processes never deliver one event at the same time: a
delivering process holds its events with a lease.

A sync that holds the mailbox's sync lease records its events already leased to itself
(:func:`record_events` with :func:`sync_events_owner`), so it delivers them without a claim:
should the process stop between the commit and the delivery, the next holder of the lease takes
the events over at once (:func:`deliver_pending` with ``taking_over``) instead of waiting for
their lease to run out.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from .._state import mail_state
from ..bulk_insert import insert_values, one_of
from ..errors import SendVetoed
from ..mailboxes.backend import MessageSummary
from ..mailboxes.info import MailboxInfo
from ..models import Mailbox, MailEvent, utcnow
from .received import complete_received, full_payload, holds_summary
from .values import EVENT_NAMES, Event, SentMail, summary_of
from .team_hooks import TEAM_HOOKS, call_team_hooks

log = logging.getLogger(__name__)

CLAIM_BATCH = 500  # as many as a sync batch records
_delivering = threading.local()


def _session():
    return mail_state().db.session


def record_event(name: str, mailbox_id: int | None, payload: dict) -> None:
    """Add an event to the session's transaction: it is stored by the caller's commit, or not at
    all when the caller rolls back. ``payload`` holds JSON values only."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}")
    _session().add(MailEvent(name=name, mailbox_id=mailbox_id, payload=payload, created_at=utcnow()))


@dataclass(frozen=True)
class RecordedEvents:
    """Events of one kind this process just added to its transaction, with the values they were
    recorded from: after the commit they are delivered from memory (:func:`deliver_recorded`).
    ``lease_owner`` and ``lease_until`` when they were recorded already leased."""

    name: str
    mailbox_id: int | None
    ids: list[int]
    payloads: list[dict]
    created_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None


def record_events(name: str, mailbox_id: int | None, payloads: list[dict],
                  lease_owner: str | None = None) -> RecordedEvents:
    """:func:`record_event` for many events of one kind, in one statement. With ``lease_owner``
    they are stored leased to it (for ``TRICOMA_MAIL_EVENT_LEASE_SECONDS``): no other delivery
    takes them meanwhile, and :func:`deliver_recorded` needs no claim of them (a sync saves a
    statement and a commit per batch). Give an owner only to events this process delivers right
    after the commit: a process that stops in between leaves them to wait for the lease, unless
    the owner is a sync's (:func:`sync_events_owner`)."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}")
    now = utcnow()
    ids: list[int] = []
    lease_until = now + _event_lease() if lease_owner is not None else None
    if payloads:
        table = MailEvent.__table__
        columns = ["name", "mailbox_id", "payload", "created_at"]
        leased: tuple = ()
        if lease_owner is not None:
            columns += ["lease_owner", "lease_until"]
            leased = (lease_owner, lease_until)
        rows = [[name, mailbox_id, payload, now, *leased] for payload in payloads]
        ids = insert_values(_session(), table, columns, rows, returning=table.c.id)
    return RecordedEvents(name, mailbox_id, ids, payloads, now, lease_owner, lease_until)


def sync_events_owner(mailbox_id: int) -> str:
    """A lease owner for the events a sync of the mailbox records while it holds the mailbox's
    sync lease; unique per call. The next holder takes them over (:func:`deliver_pending`)."""
    return f"{_sync_prefix(mailbox_id)}{uuid.uuid4().hex}"


def _release(event_ids: list[int], owner: str) -> None:
    session = _session()
    session.execute(
        update(MailEvent).where(one_of(session, MailEvent.id, event_ids), MailEvent.lease_owner == owner,
                                MailEvent.delivered_at.is_(None))
        .values(lease_owner=None, lease_until=None).execution_options(synchronize_session=False))
    session.commit()


def _sync_prefix(mailbox_id: int) -> str:
    return f"sync:{mailbox_id}:"


def _event_lease() -> timedelta:
    return timedelta(seconds=current_app.config["TRICOMA_MAIL_EVENT_LEASE_SECONDS"])


def deliver_recorded(recorded: RecordedEvents, summaries: Sequence[MessageSummary] | None = None) -> int:
    """Deliver events recorded by :func:`record_events` and committed since, from the values in
    memory instead of reading them back: claim them by id in one statement (an event another
    process claimed first is left to it) unless they were recorded leased, call the hooks, mark
    them delivered. ``summaries`` are the ``received`` events' summaries, in the same order.
    Like :func:`deliver_after_commit`, a database error leaves the events pending for the next
    run. Returns how many were delivered."""
    if not recorded.ids:
        return 0
    if getattr(_delivering, "active", False):  # recorded by a hook: the running delivery's next run takes them
        if recorded.lease_owner is not None:
            _release(recorded.ids, recorded.lease_owner)
        return 0
    _delivering.active = True
    owner = recorded.lease_owner or uuid.uuid4().hex
    try:
        if _still_held(recorded):
            claimed = set(recorded.ids)  # leased by the INSERT: no one else has taken them
        else:
            claimed = set(_claim_ids(recorded.ids, owner, held=recorded.lease_owner))
        if not claimed:
            return 0
        listening = _listening()
        mailboxes: dict[int, MailboxInfo | None] = {}
        events = []
        for index, event_id in enumerate(recorded.ids):
            if event_id in claimed:
                payload = recorded.payloads[index]
                summary = summaries[index] if summaries is not None else None
                events.append((event_id, payload, summary))
        try:
            batched = recorded.name == "received" and "messages_received" in listening
            if batched:
                _call_messages_received(recorded, events, mailboxes)
            if not batched or listening & _PER_EVENT_HOOKS:
                for event_id, payload, summary in events:
                    _call_hooks(_RecordedEvent(event_id, recorded, payload, summary), mailboxes, listening, summary,
                                batched)
            _mark_delivered([event_id for event_id, _payload, _summary in events], owner)
        except SQLAlchemyError:
            _session().rollback()  # as in deliver_pending: one by one, only a failing event loses its writes
            for event_id, payload, summary in events:
                _deliver_alone(_RecordedEvent(event_id, recorded, payload, summary), owner, mailboxes, summary)
        return len(events)
    except SQLAlchemyError:
        log.exception("events could not be delivered now; they stay pending")
        _session().rollback()
        return 0
    finally:
        _delivering.active = False


class _RecordedEvent:
    """An event as :func:`_call_hooks` reads it, built from recorded values; the frozen
    :class:`Event` the ``event`` hook receives is made only when that hook asks for it (for a
    ``received`` event stored by reference, with the payload made from its ``summary``)."""

    __slots__ = ("_payload", "_recorded", "_summary", "id", "mailbox_id", "name")

    def __init__(self, event_id: int, recorded: RecordedEvents, payload: dict,
                 summary: MessageSummary | None = None) -> None:
        self.id, self.name, self.mailbox_id = event_id, recorded.name, recorded.mailbox_id
        self._recorded, self._payload, self._summary = recorded, payload, summary

    @property
    def payload(self) -> dict:
        return self._payload

    def value(self) -> Event:
        return Event.of_values(self.id, self.name, self.mailbox_id, full_payload(self._payload, self._summary),
                               self._recorded.created_at)


def _still_held(recorded: RecordedEvents) -> bool:
    """Whether events recorded leased still have at least half their lease ahead: time enough
    for the hooks, as after a claim. Later (a delivery held up) they are claimed again."""
    if recorded.lease_until is None:
        return False
    return recorded.lease_until - utcnow() >= _event_lease() / 2


def _claim_ids(event_ids: list[int], owner: str, held: str | None = None) -> list[int]:
    """Lease the undelivered, unleased events among ``event_ids`` to ``owner``, and those
    still leased to ``held``; their ids."""
    session = _session()
    now = utcnow()
    free = or_(MailEvent.lease_until.is_(None), MailEvent.lease_until < now)
    if held is not None:
        free = or_(free, MailEvent.lease_owner == held)
    lease = _event_lease()
    _commit_asynchronously(session)
    claimed = list(session.scalars(
        update(MailEvent).where(one_of(session, MailEvent.id, event_ids), MailEvent.delivered_at.is_(None), free)
        .values(lease_owner=owner, lease_until=now + lease).returning(MailEvent.id)
        .execution_options(synchronize_session=False)))
    session.commit()
    return claimed


def deliver_after_commit() -> int:
    """Deliver pending events right after a change was committed. A database error here does
    not undo the change: the events stay pending for the next run, and the error is logged."""
    try:
        return deliver_pending()
    except SQLAlchemyError:
        log.exception("events could not be delivered now; they stay pending")
        _session().rollback()
        return 0


def deliver_pending(taking_over: int | None = None) -> int:
    """Call the hooks of every pending event, oldest first, and mark the events delivered after
    their hooks ran: a batch at a time, in one commit with what the hooks wrote and did not
    commit. Returns how many were delivered. Within one thread a call made from inside a hook
    returns at once: the running delivery picks up what the hook caused.

    ``taking_over`` a mailbox id: the events an earlier sync of it recorded leased
    (:func:`sync_events_owner`) are delivered too, whatever their lease. Only the holder of the
    mailbox's sync lease passes it, before it records events itself: the sync that leased them
    has ended (its process stopped after a commit) or lost the sync lease."""
    if getattr(_delivering, "active", False):
        return 0
    _delivering.active = True
    owner = uuid.uuid4().hex
    delivered = 0
    try:
        while True:
            claimed = _claim(owner, taking_over)
            if not claimed:
                return delivered
            mailboxes: dict[int, MailboxInfo | None] = {}
            listening = _listening()
            try:
                for event in claimed:
                    _call_hooks(event, mailboxes, listening)
                _mark_delivered([event.id for event in claimed], owner)
            except SQLAlchemyError:
                # A hook left the transaction broken (its error is recorded), and the batch's
                # writes are rolled back: deliver its events again one by one, so only the
                # failing event loses its writes.
                _session().rollback()
                for event in claimed:
                    _deliver_alone(event, owner, mailboxes)
            delivered += len(claimed)
            if len(claimed) < CLAIM_BATCH:
                return delivered  # that was all; what arrives meanwhile goes with the next run
    finally:
        _delivering.active = False


def _deliver_alone(event, owner: str, mailboxes: dict[int, MailboxInfo | None],
                   summary: MessageSummary | None = None) -> None:
    _call_hooks(event, mailboxes, _listening(), summary)
    try:
        _mark_delivered([event.id], owner)
    except SQLAlchemyError:
        _session().rollback()
        _mark_delivered([event.id], owner)


def _claim(owner: str, taking_over: int | None = None) -> list[Event]:
    session = _session()
    now = utcnow()
    free = or_(MailEvent.lease_until.is_(None), MailEvent.lease_until < now)
    if taking_over is not None:
        free = or_(free, MailEvent.lease_owner.startswith(_sync_prefix(taking_over), autoescape=True))
    ids = list(session.scalars(
        select(MailEvent.id).where(MailEvent.delivered_at.is_(None), free)
        .order_by(MailEvent.id).limit(CLAIM_BATCH)))
    if not ids:
        session.commit()
        return []
    lease = timedelta(seconds=current_app.config["TRICOMA_MAIL_EVENT_LEASE_SECONDS"])
    # The conditions are checked again by the UPDATE: of two processes, one gets each event.
    session.execute(
        update(MailEvent).where(MailEvent.id.in_(ids), MailEvent.delivered_at.is_(None), free)
        .values(lease_owner=owner, lease_until=now + lease)
        .execution_options(synchronize_session=False))
    session.commit()
    rows = session.execute(
        select(MailEvent.id, MailEvent.name, MailEvent.mailbox_id, MailEvent.payload, MailEvent.created_at)
        .where(MailEvent.lease_owner == owner, MailEvent.delivered_at.is_(None))
        .order_by(MailEvent.id))
    events = complete_received([Event.of(row) for row in rows])
    session.commit()
    return events


_DELIVERED_HOOKS = ("message_sent", "message_received", "messages_received", "event", *TEAM_HOOKS)
_PER_EVENT_HOOKS = frozenset({"message_received", "event"})  # called per event even when the batch hook ran


def _listening() -> frozenset[str]:
    """The delivering hooks some enabled plugin implements: the values of the others are not
    built (a sync delivers one ``received`` event per new message)."""
    hooks = mail_state().hooks
    return frozenset(name for name in _DELIVERED_HOOKS if hooks.implemented(name))


def _call_messages_received(recorded: RecordedEvents, events: list[tuple[int, dict, MessageSummary | None]],
                            mailboxes: dict[int, MailboxInfo | None]) -> None:
    """``messages_received`` once per folder for the claimed ``received`` events of one
    recording (a sync's batch: one folder)."""
    mailbox = _mailbox(recorded.mailbox_id, mailboxes)
    if mailbox is None:
        return
    by_folder: dict[str, list[MessageSummary]] = {}
    for event_id, payload, summary in events:
        if summary is None:
            if not holds_summary(payload):
                continue
            summary = summary_of(_RecordedEvent(event_id, recorded, payload).value())
        by_folder.setdefault(payload["folder"], []).append(summary)
    hooks = mail_state().hooks
    for folder, summaries in by_folder.items():
        try:
            hooks.call("messages_received", mailbox=mailbox, folder=folder, summaries=tuple(summaries))
        except SendVetoed:
            log.warning("a plugin raised SendVetoed in messages_received (%d events)", len(summaries))


def _call_hooks(event, mailboxes: dict[int, MailboxInfo | None], listening: frozenset[str],
                summary: MessageSummary | None = None, batched: bool = False) -> None:
    """``event`` is an :class:`Event` or a :class:`_RecordedEvent`; ``summary`` the received
    message's summary when it is at hand (else it is read from the payload); ``batched`` when
    ``messages_received`` was already called for it (with its batch)."""
    hooks = mail_state().hooks
    try:
        if event.name == "sent" and "message_sent" in listening:
            sent = SentMail.of(_value(event))
            hooks.call("message_sent", outbox_item=sent, reference=sent.reference)
        elif event.name == "received" and (summary is not None or holds_summary(event.payload)) and (
                "message_received" in listening or ("messages_received" in listening and not batched)):
            mailbox = _mailbox(event.mailbox_id, mailboxes)
            if mailbox is not None:
                summary = summary or summary_of(_value(event))
                if "messages_received" in listening and not batched:
                    hooks.call("messages_received", mailbox=mailbox, folder=event.payload["folder"],
                               summaries=(summary,))
                if "message_received" in listening:
                    hooks.call("message_received", mailbox=mailbox, folder=event.payload["folder"], summary=summary)
        elif event.name == "team":
            call_team_hooks(hooks, _value(event), _mailbox(event.mailbox_id, mailboxes), listening)
        if "event" in listening:
            hooks.call("event", event=_value(event))
    except SendVetoed:
        # Only before_send may veto; here it is a plugin's mistake, and it must not hold up
        # every later event.
        log.warning("a plugin raised SendVetoed while event %s was delivered", event.id)


def _value(event) -> Event:
    return event.value() if isinstance(event, _RecordedEvent) else event


def _mailbox(mailbox_id: int | None, known: dict[int, MailboxInfo | None]) -> MailboxInfo | None:
    if mailbox_id is None:
        return None
    if mailbox_id not in known:
        row = _session().get(Mailbox, mailbox_id)
        known[mailbox_id] = MailboxInfo.of(row) if row is not None else None
    return known[mailbox_id]


def _commit_asynchronously(session) -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL is on disk: a lease
    or a "delivered" mark lost with a crashed database server only means the events are
    delivered again (at least once, as after any crash), together with the uncommitted writes
    of their hooks, which are lost with the mark. A sync takes and marks a lease per batch; the
    flush of each cost as much as the UPDATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _mark_delivered(event_ids: list[int], owner: str) -> None:
    session = _session()
    _commit_asynchronously(session)
    session.execute(
        update(MailEvent).where(_ids_among(session, event_ids), MailEvent.lease_owner == owner)
        .values(delivered_at=utcnow(), lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False))
    session.commit()


def _ids_among(session, event_ids: list[int]):
    """``MailEvent.id`` among ``event_ids`` (distinct): as a range of the key when they are
    consecutive (a sync's batch, recorded in one statement), which holds exactly them and which
    the database walks without a lookup per id."""
    low, high = min(event_ids), max(event_ids)
    if high - low + 1 == len(event_ids):
        return MailEvent.id.between(low, high)
    return one_of(session, MailEvent.id, event_ids)


def forget_delivered() -> int:
    """Delete delivered events older than ``TRICOMA_MAIL_EVENTS_KEPT_DAYS``. Returns how many."""
    session = _session()
    before = utcnow() - timedelta(days=current_app.config["TRICOMA_MAIL_EVENTS_KEPT_DAYS"])
    result = session.execute(
        delete(MailEvent).where(MailEvent.delivered_at.is_not(None), MailEvent.delivered_at < before)
        .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0
