"""The outbox as one user sees it (SPEC S4): which outgoing mails a user may list and open, stop
(undo send) or send again.

A user sees the mail of every mailbox where they hold *send*; admins also see system mail. Every
action checks the right afresh on the item's mailbox. An item the user may not see is reported as
:class:`MessageNotFound`, whatever the reason, so its id reveals nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sqlalchemy import select
from sqlalchemy.orm import defer

from .._state import mail_state
from ..errors import MailboxNotFound, MessageNotFound, NotAllowed
from ..models import OutboxItem, is_row_id
from ..rights import access
from . import outbox

SYSTEM_SCOPE = "system"
STATES = ("queued", "sending", "sent", "retry", outbox.WAITING_FOR_SIGN_IN, "failed", "uncertain", "cancelled")
CANCELLABLE_STATES = outbox.DUE_STATES
RESENDABLE_STATES = ("uncertain", "failed")


@dataclass(frozen=True)
class OutboxSource:
    """Where a user's visible outbox items come from: a mailbox, or system mail (admins)."""

    scope: str
    title: str
    mailbox_id: int | None = None


@dataclass(frozen=True)
class AttemptLine:
    """One attempt to hand an item to its server, from ``OutboxItem.attempt_history``.

    ``reached``: how far it got (``connecting``, ``data``, ``final_dot``, ``handed_over``);
    ``reached_at``: when it got there (for ``final_dot``, the moment the server may have accepted
    the mail); ``outcome``: the state it left the item in; ``worker_vanished``: the sending
    process stopped without settling it; ``resolved``: ``found_in_sent`` when a look into the
    provider's Sent folder showed the mail was accepted, ``confirmed_arrived`` when a person
    checked with the recipient (``resolved_by``)."""

    number: int
    started_at: datetime | None
    reached: str | None
    reached_at: datetime | None
    ended_at: datetime | None
    outcome: str
    worker_vanished: bool
    detail: str
    resolved: str | None
    resolved_by: str | None = None


def attempt_lines(item: OutboxItem) -> list[AttemptLine]:
    """The item's history, one line per attempt, oldest first."""
    return [AttemptLine(number=int(line.get("attempt") or index), started_at=_moment(line.get("started_at")),
                        reached=line.get("reached"), reached_at=_moment(line.get("reached_at")),
                        ended_at=_moment(line.get("ended_at")), outcome=str(line.get("outcome") or ""),
                        worker_vanished=bool(line.get("worker_vanished")), detail=str(line.get("detail") or ""),
                        resolved=line.get("resolved"), resolved_by=line.get("resolved_by"))
            for index, line in enumerate(item.attempt_history or [], start=1)]


def maybe_accepted_at(item: OutboxItem) -> datetime | None:
    """For an uncertain item: when its last attempt sent the final dot, i.e. when the server
    may have accepted the mail (``None`` when that is not known)."""
    lines = attempt_lines(item)
    if lines and lines[-1].reached == outbox.STAGE_FINAL_DOT:
        return lines[-1].reached_at
    return None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class MessageHeader:
    name: str
    value: str


def sources(user) -> list[OutboxSource]:
    """The mailboxes whose outgoing mail ``user`` may see (those with *send*), then system mail
    for admins."""
    found = [OutboxSource(f"mailbox:{mailbox.id}", mailbox.title, mailbox.id)
             for mailbox in access.mailboxes_with(user, "send")]
    if getattr(user, "is_admin", False):
        found.append(OutboxSource(SYSTEM_SCOPE, ""))
    return found


def list_items(user, *, state: str | None = None, before: int | None = None, limit: int = 100,
               scopes: list[str] | None = None) -> list[OutboxItem]:
    """The newest items ``user`` may see, newest first; ``before`` (an item id) pages back.

    The message bytes are not loaded: a list of large mails must not read them all.
    """
    scopes = scopes if scopes is not None else [source.scope for source in sources(user)]
    if not scopes:
        return []
    query = (select(OutboxItem).options(defer(OutboxItem.raw))
             .where(OutboxItem.scope.in_(scopes)).order_by(OutboxItem.id.desc()).limit(limit))
    if state:
        query = query.where(OutboxItem.state == state)
    if before:
        query = query.where(OutboxItem.id < before)
    return list(mail_state().db.session.scalars(query))


def get_item(user, item_id: int) -> OutboxItem:
    """The item if ``user`` may see it (send on its mailbox; admin for system mail)."""
    session = mail_state().db.session
    item = session.get(OutboxItem, item_id) if _valid_id(item_id) else None
    if item is None:
        raise MessageNotFound()
    require_send(user, item)
    return item


def require_send(user, item: OutboxItem) -> None:
    """Raise :class:`MessageNotFound` unless ``user`` may send from the item's mailbox (or, for
    system mail, is an admin)."""
    if item.scope == SYSTEM_SCOPE:
        if not getattr(user, "is_admin", False):
            raise MessageNotFound()
        return
    mailbox_id = _scope_mailbox_id(item.scope)
    if mailbox_id is None:
        raise MessageNotFound()
    try:
        access.require(user, mailbox_id, "send")
    except (MailboxNotFound, NotAllowed):
        raise MessageNotFound() from None


def cancel(user, item_id: int) -> OutboxItem:
    """Undo send: stop an item no worker has taken yet. Raises :class:`NotAllowed` once it is
    on its way."""
    item = get_item(user, item_id)
    outbox.cancel(item)
    mail_state().db.session.refresh(item)
    if item.mailbox_id is not None and access.is_shared(item.mailbox_id):
        access.audit(str(user.get_id()), item.mailbox_id, "send_cancelled", **outbox.sending_details(item))
    return item


def send_again(user, item_id: int) -> OutboxItem:
    """Queue an uncertain or failed item once more; the caller has had the user confirm it."""
    item = get_item(user, item_id)
    outbox.send_again(item)
    return item


def confirm_arrived(user, item_id: int) -> OutboxItem:
    """Settle an uncertain item as sent: ``user`` checked that the recipient has the mail."""
    item = get_item(user, item_id)
    outbox.confirm_arrived(item, str(user.get_id()))
    return item


def message_headers(item: OutboxItem) -> list[MessageHeader]:
    """The headers of the stored message, decoded (RFC 2047) and unfolded; never the body."""
    message = BytesHeaderParser(policy=default_policy).parsebytes(item.raw)
    headers = []
    for name, value in message.raw_items():
        try:
            text = str(default_policy.header_fetch_parse(name, value))
        except Exception:  # noqa: BLE001 - a header the parser cannot decode is shown as stored
            text = value
        headers.append(MessageHeader(name, " ".join(text.split())))
    return headers


def _scope_mailbox_id(scope: str) -> int | None:
    kind, _, number = scope.partition(":")
    if kind != "mailbox" or not number.isdigit():
        return None
    return int(number)


def _valid_id(value) -> bool:
    return is_row_id(value)
