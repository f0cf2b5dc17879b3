"""A conversation's team state in a shared mailbox: who it is assigned to and its status
(open, waiting, done), and the list views built on them ("mine", "unassigned", per status).

Every change is one transaction: the thread row, a ``team`` event (delivered after the commit:
open v2 pages refresh, plugins hear ``conversation_assigned`` / ``conversation_status_changed``),
the assignee's notice and the mailbox's audit entry. Only users with *read* on the mailbox see
or change anything; a conversation is assigned only to such a user.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .._state import mail_state
from ..errors import InvalidSettings
from ..events.outbox import deliver_after_commit, record_event
from ..models import AuditEntry, utcnow
from ..notices import notice_text, notify
from ..plugins.ui import mailbox_client_url
from ..rights import access
from ..rights.directory import directory
from .tables import STATUSES, TeamPresence, TeamReminder, TeamThread
from .threads import message_ids_of, normal_ids, thread_for, threads_for

#: the list views of a shared mailbox, besides "all"
VIEWS = ("mine", "unassigned", *STATUSES, "snoozed")
#: how many Message-IDs a ``team`` event names (enough for a plugin to find the conversation)
EVENT_IDS = 50
#: how long an open editor counts as "answering" without a sign of life
PRESENCE_SECONDS = 45

ASSIGNED_NOTICE = notice_text("%(user)s assigned a conversation to you: %(subject)s")


def _session():
    return mail_state().db.session


@dataclass(frozen=True)
class Person:
    id: str
    label: str

    def as_json(self) -> dict:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class TeamState:
    """What a page shows of one conversation: assignee, status, snooze, pending reminders, who
    is answering right now and the last reply sent through a colleague's editor."""

    thread_id: int | None
    assignee: Person | None = None
    status: str = "open"
    snoozed_until: datetime | None = None
    returned_at: datetime | None = None
    answering: tuple = ()  # (Person, since) of users with a reply open
    reminders: tuple = ()  # (id, user Person, due_at) of pending follow-ups
    last_reply: tuple | None = None  # (Person, at)
    updated_at: datetime | None = None

    def as_json(self, viewer_id: str | None = None) -> dict:
        return {
            "thread_id": self.thread_id, "status": self.status,
            "assignee": self.assignee.as_json() if self.assignee else None,
            "mine": bool(self.assignee and viewer_id is not None and self.assignee.id == str(viewer_id)),
            "snoozed_until": _iso(self.snoozed_until), "returned_at": _iso(self.returned_at),
            "answering": [{**person.as_json(), "since": _iso(since)} for person, since in self.answering
                          if viewer_id is None or person.id != str(viewer_id)],
            "reminders": [{"id": reminder_id, "user": person.as_json(), "due_at": _iso(due)}
                          for reminder_id, person, due in self.reminders],
            "last_reply": {**self.last_reply[0].as_json(), "at": _iso(self.last_reply[1])} if self.last_reply else None,
            "updated_at": _iso(self.updated_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def person(user_id: str | None) -> Person | None:
    if not user_id:
        return None
    found = directory().find("user", str(user_id))
    return Person(str(user_id), found.label if found is not None and str(found.id) == str(user_id) else f"#{user_id}")


# -- reading ------------------------------------------------------------------------------------


def state_of(thread: TeamThread | None, now: datetime | None = None) -> TeamState:
    if thread is None:
        return TeamState(None)
    now = now or utcnow()
    session = _session()
    present = session.execute(select(TeamPresence.user_id, TeamPresence.started_at)
                              .where(TeamPresence.thread_id == thread.id,
                                     TeamPresence.seen_at > now - _seconds(PRESENCE_SECONDS))
                              .order_by(TeamPresence.started_at)).all()
    reminders = session.execute(select(TeamReminder.id, TeamReminder.user_id, TeamReminder.due_at)
                                .where(TeamReminder.thread_id == thread.id, TeamReminder.state == "pending")
                                .order_by(TeamReminder.due_at)).all()
    last_reply = (person(thread.replied_by), thread.replied_at) if thread.replied_by else None
    return TeamState(thread.id, person(thread.assignee_id), thread.status, thread.snoozed_until, thread.returned_at,
                     tuple((person(user_id), since) for user_id, since in present),
                     tuple((rid, person(user_id), due) for rid, user_id, due in reminders),
                     last_reply, thread.updated_at)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def conversation_state(user, mailbox_id: int, message_ids: Iterable[str]) -> TeamState:
    access.require(user, mailbox_id, "read")
    return state_of(thread_for(mailbox_id, message_ids))


def list_states(mailbox_id: int, groups: list[Iterable[str]]) -> list[TeamState]:
    """The state of each conversation of a list (one group of Message-IDs each), read in a few
    queries; presence and reminders are left out (the reading pane asks for them)."""
    threads = threads_for(mailbox_id, groups)
    people: dict[str | None, Person | None] = {}  # one directory look-up per assignee, not per row
    for thread in threads:
        if thread is not None and thread.assignee_id not in people:
            people[thread.assignee_id] = person(thread.assignee_id)
    return [TeamState(t.id, people[t.assignee_id], t.status, t.snoozed_until, t.returned_at, updated_at=t.updated_at)
            if t is not None else TeamState(None) for t in threads]


def in_view(state: TeamState, view: str, viewer_id: str, now: datetime | None = None) -> bool:
    """Whether a conversation shows in ``view`` ("" or "all": every one not snoozed)."""
    now = now or utcnow()
    snoozed = state.snoozed_until is not None and state.snoozed_until > now
    if view == "snoozed":
        return snoozed
    if snoozed:
        return False
    if view in ("", "all"):
        return True
    if view == "mine":
        return state.assignee is not None and state.assignee.id == str(viewer_id) and state.status != "done"
    if view == "unassigned":
        return state.assignee is None and state.status != "done"
    return state.status == view


def messages_in_view(messages: list, view: str, viewer_id: str) -> list:
    """The listed messages (of several mailboxes: the unified inbox) whose conversation is in
    ``view``, in their order; each message's conversation is found by its own Message-ID and
    those it answers."""
    by_mailbox: dict[int, list[int]] = {}
    for index, message in enumerate(messages):
        by_mailbox.setdefault(message.mailbox_id, []).append(index)
    keep = set()
    for mailbox_id, indexes in by_mailbox.items():
        groups = [[messages[i].message_id, messages[i].in_reply_to, messages[i].references] for i in indexes]
        for index, found in zip(indexes, list_states(mailbox_id, groups), strict=True):
            if in_view(found, view, viewer_id):
                keep.add(index)
    return [message for index, message in enumerate(messages) if index in keep]


def assignable_users(mailbox_id: int) -> list[Person]:
    """The users a conversation of the mailbox may be assigned to: those who may read it."""
    return [Person(str(principal.id), principal.label) for principal in access.users_with(mailbox_id, "read")]


# -- changing -----------------------------------------------------------------------------------


def assign(user, mailbox_id: int, message_ids: Iterable[str], assignee_id: str | None, *,
           subject: str = "") -> TeamState:
    """Assign the conversation to ``assignee_id`` (``None``: nobody). The assignee gets a notice
    (unless they assign it to themselves)."""
    mailbox = access.require(user, mailbox_id, "read")
    assignee_id = str(assignee_id) if assignee_id not in (None, "") else None
    if assignee_id is not None and assignee_id not in {p.id for p in assignable_users(mailbox_id)}:
        raise InvalidSettings(str(_l("This person may not read this mailbox.")), field="assignee")
    thread = _thread(mailbox_id, message_ids)
    previous = thread.assignee_id
    if previous == assignee_id:
        return state_of(thread)
    actor = str(user.get_id())
    now = utcnow()
    thread.assignee_id, thread.assigned_by, thread.assigned_at, thread.updated_at = assignee_id, actor, now, now
    _event(thread, "assigned", assignee_id=assignee_id, previous_assignee_id=previous, by=actor)
    if assignee_id is not None and assignee_id != actor:
        actor_person = person(actor)
        notify(assignee_id, "assigned", ASSIGNED_NOTICE,
               {"user": actor_person.label if actor_person else actor, "subject": subject[:200] or "—"},
               link=_link(mailbox), mailbox_id=mailbox_id)
    _audit(actor, mailbox_id, "team_assigned", thread, assignee=assignee_id or "", previous=previous or "",
           subject=subject[:200])
    return _done(thread)


def set_status(user, mailbox_id: int, message_ids: Iterable[str], status: str, *, subject: str = "") -> TeamState:
    access.require(user, mailbox_id, "read")
    if status not in STATUSES:
        raise InvalidSettings(str(_l("Choose open, waiting or done.")), field="status")
    thread = _thread(mailbox_id, message_ids)
    previous = thread.status
    if previous == status:
        return state_of(thread)
    actor = str(user.get_id())
    now = utcnow()
    thread.status, thread.status_by, thread.status_at, thread.updated_at = status, actor, now, now
    _event(thread, "status", status=status, previous_status=previous, by=actor)
    _audit(actor, mailbox_id, "team_status", thread, status=status, previous=previous, subject=subject[:200])
    return _done(thread)


# -- shared by the team modules -------------------------------------------------------------------


def _thread(mailbox_id: int, message_ids: Iterable[str]) -> TeamThread:
    ids = normal_ids(message_ids)
    if not ids:
        raise InvalidSettings(str(_l("This message has no Message-ID; team functions need one.")))
    return thread_for(mailbox_id, ids, create=True)


def _event(thread: TeamThread, action: str, **payload) -> None:
    """Record a ``team`` event in the transaction of the change."""
    record_event("team", thread.mailbox_id, {
        "action": action, "thread_id": thread.id, "message_ids": message_ids_of(thread.id)[:EVENT_IDS],
        "assignee_id": thread.assignee_id, "status": thread.status,
        "snoozed_until": _iso(thread.snoozed_until), **payload})


def _audit(actor: str, mailbox_id: int, action: str, thread: TeamThread, **details) -> None:
    _session().add(AuditEntry(actor=actor, mailbox_id=mailbox_id, action=action, at=utcnow(),
                              details={"thread": thread.id, **details}))


def _done(thread: TeamThread) -> TeamState:
    """Commit the change, deliver its events (pages and plugins hear of it) and answer the
    conversation's state."""
    session = _session()
    session.commit()
    deliver_after_commit()
    return state_of(session.get(TeamThread, thread.id))


def _link(mailbox) -> str | None:
    """The page the mailbox opens in (its client), or ``None`` outside a request."""
    if not has_request_context():  # no request to build a URL in (a job, the CLI)
        return None
    link = mailbox_client_url(mailbox)
    return link if link and link.startswith("/") and not link.startswith("//") else None
