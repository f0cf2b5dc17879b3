"""The values the event hooks receive: :class:`Event` for ``event``, :class:`SentMail` for
``message_sent``; and the conversions between them and the plain values an event row stores."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from ..mailboxes.backend import MessageSummary, RecipientResult
from ..records.references import Reference

#: Every event name, in the order the docs list them.
EVENT_NAMES: tuple[str, ...] = (
    "received", "sent", "failed", "uncertain", "deleted", "moved", "flags_changed", "team",
)


@dataclass(frozen=True)
class Event:
    """One thing that happened to mail, as the ``event`` hook receives it.

    ``id`` grows with every event and is the same at every delivery of one event: delivery is
    at least once, so a plugin that must not act twice remembers the ids it has handled.
    ``payload`` holds plain values (str, int, bool, None, tuples and mappings of them); which
    keys each event name has is listed in ``docs/plugin_hooks.md``.
    """

    id: int
    name: str
    mailbox_id: int | None
    payload: Mapping[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row) -> "Event":
        """The value of a stored event row."""
        return cls.of_values(row.id, row.name, row.mailbox_id, row.payload or {}, row.created_at)

    @classmethod
    def of_values(cls, event_id: int, name: str, mailbox_id: int | None, payload: dict,
                  created_at: datetime) -> Event:
        """The value of an event recorded from ``payload`` (plain JSON values)."""
        return cls(event_id, name, mailbox_id, _frozen(payload), created_at)


# Most payload values are scalars: they are taken as they are without a call per value (a sync
# stores and delivers one event per new message, so this is on the sync's hot path).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({key: item if type(item) in _SCALARS else _frozen(item)
                                 for key, item in value.items()})
    if isinstance(value, list):
        return tuple(item if type(item) in _SCALARS else _frozen(item) for item in value)
    return value


def _plain(value):
    """Make a JSON-safe value: datetimes as ISO 8601 text (in UTC when they know their zone),
    tuples as lists."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()
    if isinstance(value, (tuple, list)):
        return [item if type(item) in _SCALARS else _plain(item) for item in value]
    if isinstance(value, dict):
        return {key: item if type(item) in _SCALARS else _plain(item) for key, item in value.items()}
    return value


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# -- team (team mail in shared mailboxes) ---------------------------------------------------------

@dataclass(frozen=True)
class TeamConversation:
    """A conversation of a shared mailbox as a hook receives it: its thread's id, the mailbox,
    the Message-IDs of its messages (lower case, with angle brackets) and its team state."""

    id: int
    mailbox_id: int
    message_ids: tuple[str, ...]
    assignee_id: str | None
    status: str
    snoozed_until: datetime | None

    @classmethod
    def of_payload(cls, mailbox_id: int, payload: Mapping) -> "TeamConversation":
        """The conversation a ``team`` event was recorded for."""
        snoozed = payload.get("snoozed_until")
        return cls(int(payload["thread_id"]), mailbox_id, tuple(payload.get("message_ids") or ()),
                   payload.get("assignee_id"), payload.get("status") or "open",
                   datetime.fromisoformat(snoozed) if snoozed else None)


# -- received ------------------------------------------------------------------------------------

_SUMMARY_FIELDS = tuple(field.name for field in fields(MessageSummary))
_SUMMARY_TIMES = ("internal_date", "date")


def received_payload(folder: str, summary: MessageSummary) -> dict:
    """The payload of a ``received`` event: the folder and every field of the summary."""
    # Made for every new message whose event a hook reads (events/received.py): the fields are
    # copied as they are (scalars by their types), only the flags and the two times need making
    # plain, and a time in UTC (as a backend's summaries have them) is written without being
    # converted first.
    payload = {"folder": folder, **vars(summary)}
    payload["flags"] = list(summary.flags)
    for name in _SUMMARY_TIMES:
        value = payload[name]
        if type(value) is datetime and value.tzinfo is timezone.utc:
            payload[name] = value.isoformat()
        elif value is not None:
            payload[name] = _plain(value)
    return payload


def summary_of(event: Event) -> MessageSummary:
    """The :class:`MessageSummary` a ``received`` event was recorded from."""
    values = {name: event.payload.get(name) for name in _SUMMARY_FIELDS}
    for name in _SUMMARY_TIMES:
        values[name] = _time(values[name])
    values["flags"] = tuple(values["flags"] or ())
    return MessageSummary(**values)


# -- sent, failed, uncertain ---------------------------------------------------------------------

@dataclass(frozen=True)
class SentMail:
    """A mail the SMTP server accepted, as ``message_sent`` receives it (its ``outbox_item``)."""

    id: int  # the outbox item's id
    mailbox_id: int | None  # None for system mail
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    reference: Reference | None
    smtp_accepted_at: datetime
    recipient_results: tuple[RecipientResult, ...] = ()

    @classmethod
    def of(cls, event: Event) -> "SentMail":
        """The mail of a ``sent`` event."""
        payload = event.payload
        return cls(
            id=payload["outbox_id"],
            mailbox_id=event.mailbox_id,
            message_id=payload["message_id"],
            sender=payload["sender"],
            recipients=tuple(payload["recipients"]),
            subject=payload["subject"],
            reference=Reference.parse(payload["reference"]) if payload["reference"] else None,
            smtp_accepted_at=_time(payload["smtp_accepted_at"]),
            recipient_results=tuple(RecipientResult(**result) for result in payload["recipient_results"]),
        )


def outbox_payload(item) -> dict:
    """The payload of a ``sent``, ``failed`` or ``uncertain`` event of an outbox item."""
    payload = {
        "outbox_id": item.id,
        "message_id": item.message_id,
        "sender": item.sender,
        "recipients": list(item.recipients),
        "subject": item.subject,
        "reference": item.reference,
        "attempts": item.attempts,
        "error": item.last_error or "",  # for a sent mail: the recipients the server refused
    }
    if item.state == "sent":
        payload["smtp_accepted_at"] = _plain(item.smtp_accepted_at)
        payload["recipient_results"] = [dict(result) for result in item.recipient_results]
    return payload
