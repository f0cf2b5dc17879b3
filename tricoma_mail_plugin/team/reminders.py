"""Snooze and follow-up reminders, run by the background jobs (the ``team`` task).

*Snooze*: the conversation leaves the lists until a moment; when the job finds it due, the
conversation comes back with ``returned_at`` set (the list shows it on top) and a ``team`` event
``snooze_ended`` (pages refresh, plugins hear ``snooze_ended``).

*Follow-up*: "remind me if nobody answers by …". A reply to the conversation that arrives
before then (a message that names one of its Message-IDs, in a folder other than Sent and not
from the mailbox's own address) cancels it: at once when sync stores the reply (the
``messages_received`` hook of ``web/team_plugin.py``) and, whatever was missed, when the job looks. A
reminder that comes due gives its user a notice and records ``follow_up_due``. For a
conversation linked to a record (an invoice, say), the reminder names the record, so the
record's page shows it too (:func:`follow_ups_for_reference`); so does a snooze of such a
conversation while it lasts (:func:`snoozes_for_reference`).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..cache.sync import cached_folders
from ..errors import InvalidSettings, MessageNotFound
from ..events.outbox import deliver_after_commit
from ..mailboxes.folders import resolve_folder
from ..models import AuditEntry, CachedFolder, CachedMessage, Mailbox, RecordLink, is_row_id, utcnow
from ..notices import notice_text, notify
from ..rights import access
from .state import TeamState, _audit, _done, _event, _session, _thread, person
from .tables import TeamReminder, TeamThread, TeamThreadMessage
from .threads import linked_message_ids, message_ids_of, normal_ids, thread_for

REMINDER_NOTICE = notice_text("Nobody has answered “%(subject)s” yet (follow-up reminder).")
SNOOZE_NOTICE = notice_text("A snoozed conversation is back in the inbox: %(subject)s")
#: at most this many reminders and snoozes are settled per run (the next run goes on)
BATCH = 200
#: a server's arrival time has whole seconds and its own clock: a reply that arrived this much
#: before the reminder was set still counts as an answer to it
CLOCK_SLACK = timedelta(minutes=1)


# -- snooze ---------------------------------------------------------------------------------------


def snooze(user, mailbox_id: int, message_ids: Iterable[str], until: datetime | None, *,
           subject: str = "") -> TeamState:
    """Snooze the conversation until ``until`` (``None``: wake it now)."""
    access.require(user, mailbox_id, "read")
    if until is not None and until <= utcnow():
        raise InvalidSettings(str(_l("Choose a time in the future.")), field="until")
    thread = _thread(mailbox_id, message_ids)
    actor = str(user.get_id())
    thread.snoozed_until, thread.snoozed_by, thread.updated_at = until, actor if until else None, utcnow()
    if until is None:
        thread.returned_at = utcnow()
    _event(thread, "snoozed" if until else "snooze_ended", by=actor)
    _audit(actor, mailbox_id, "team_snoozed" if until else "team_woken", thread,
           until=until.isoformat() if until else "", subject=subject[:200])
    return _done(thread)


# -- follow-up reminders ----------------------------------------------------------------------------


def follow_up(user, mailbox_id: int, message_ids: Iterable[str], due_at: datetime, *,
              subject: str = "") -> TeamState:
    """Remind ``user`` at ``due_at`` unless somebody answers the conversation first."""
    access.require(user, mailbox_id, "read")
    if due_at <= utcnow():
        raise InvalidSettings(str(_l("Choose a time in the future.")), field="due_at")
    thread = _thread(mailbox_id, message_ids)
    actor = str(user.get_id())
    session = _session()
    session.flush()
    known = message_ids_of(thread.id)
    session.add(TeamReminder(thread_id=thread.id, mailbox_id=mailbox_id, user_id=actor, created_at=utcnow(),
                             due_at=due_at, state="pending", reference=linked_reference(mailbox_id, known),
                             known_ids=known[:500]))
    thread.updated_at = utcnow()
    _event(thread, "follow_up_set", by=actor, due_at=due_at.isoformat())
    _audit(actor, mailbox_id, "team_follow_up", thread, due_at=due_at.isoformat(), subject=subject[:200])
    return _done(thread)


def cancel_follow_up(user, mailbox_id: int, reminder_id: int) -> TeamState:
    access.require(user, mailbox_id, "read")
    session = _session()
    reminder = session.get(TeamReminder, reminder_id) if is_row_id(reminder_id) else None
    if reminder is None or reminder.mailbox_id != mailbox_id:  # another mailbox's: nothing here
        raise MessageNotFound(str(_l("This reminder does not exist (any more).")))
    if reminder.state != "pending":
        raise InvalidSettings(str(_l("This reminder is no longer pending.")))
    thread = session.get(TeamThread, reminder.thread_id)
    reminder.state, reminder.settled_at = "cancelled", utcnow()
    _event(thread, "follow_up_cancelled", by=str(user.get_id()), reason="user")
    return _done(thread)


def linked_reference(mailbox_id: int, message_ids: list[str]) -> str | None:
    """The record a message of the conversation is linked to (the first link), or ``None``."""
    if not message_ids:
        return None
    return _session().scalar(
        select(RecordLink.reference).where(func.lower(RecordLink.message_id).in_(message_ids))
        .order_by(RecordLink.id).limit(1))


@dataclass(frozen=True)
class FollowUp:
    """A follow-up reminder as a record's page shows it."""

    id: int
    mailbox_id: int
    mailbox_title: str
    user_label: str
    due_at: datetime
    state: str  # pending, due, cancelled


def follow_ups_for_reference(reference, user=None) -> list[FollowUp]:
    """The follow-up reminders of conversations linked to ``reference`` (a :class:`Reference`
    or its text), pending first; with ``user``, only those of mailboxes the user may read."""
    session = _session()
    rows = session.scalars(select(TeamReminder).where(TeamReminder.reference == str(reference))
                           .order_by(TeamReminder.state != "pending", TeamReminder.due_at))
    found = []
    for row in rows:
        if user is not None and "read" not in access.effective_rights(user, row.mailbox_id):
            continue
        mailbox = session.get(Mailbox, row.mailbox_id)
        found.append(FollowUp(row.id, row.mailbox_id, mailbox.title if mailbox else "—",
                              (person(row.user_id) or person("?")).label, row.due_at, row.state))
    return found


@dataclass(frozen=True)
class Snooze:
    """A snoozed conversation as a record's page shows it."""

    thread_id: int
    mailbox_id: int
    mailbox_title: str
    user_label: str  # who snoozed it
    until: datetime
    subject: str  # of the linked mail the conversation was found by


def snoozes_for_reference(reference, user=None, now: datetime | None = None) -> list[Snooze]:
    """The conversations snoozed now whose mail is linked to ``reference`` (a :class:`Reference`
    or its text), the one back soonest first; with ``user``, only those of mailboxes the user
    may read. Found by the links' Message-IDs at the time of asking, as the record's notes."""
    session = _session()
    now = now or utcnow()
    found: dict[int, Snooze] = {}
    for mailbox, subjects in linked_message_ids(reference, user):
        mailbox_id = mailbox.id
        rows = session.execute(
            select(TeamThread, TeamThreadMessage.message_id)
            .join(TeamThreadMessage, TeamThreadMessage.thread_id == TeamThread.id)
            .where(TeamThreadMessage.mailbox_id == mailbox_id, TeamThreadMessage.message_id.in_(sorted(subjects)),
                   TeamThread.mailbox_id == mailbox_id, TeamThread.snoozed_until.is_not(None),
                   TeamThread.snoozed_until > now)
            .order_by(TeamThreadMessage.id)).all()
        for thread, message_id in rows:
            if thread.id not in found:
                found[thread.id] = Snooze(thread.id, mailbox_id, mailbox.title,
                                          (person(thread.snoozed_by) or person("?")).label, thread.snoozed_until,
                                          subjects.get(message_id, ""))
    return sorted(found.values(), key=lambda snooze: (snooze.until, snooze.thread_id))


# -- replies ----------------------------------------------------------------------------------------


def cancel_on_reply(mailbox_id: int, folder: str, message_id: str, in_reply_to: str, references: str,
                    sender: str, arrived: datetime | None) -> int:
    """A message arrived in a folder of the mailbox: when it answers a conversation with pending
    follow-ups made before it arrived, they are cancelled. Returns how many. Does not commit."""
    linked = normal_ids([in_reply_to, references])
    if not linked or not _is_reply_from_outside(mailbox_id, folder, sender):
        return 0
    session = _session()
    thread_ids = set(session.scalars(select(TeamThreadMessage.thread_id).where(
        TeamThreadMessage.mailbox_id == mailbox_id, TeamThreadMessage.message_id.in_(linked))))
    if not thread_ids:
        return 0
    arrived = arrived or utcnow()
    own = (normal_ids([message_id]) or [""])[0]
    pending = [reminder for reminder in session.scalars(select(TeamReminder).where(
        TeamReminder.thread_id.in_(thread_ids), TeamReminder.state == "pending",
        TeamReminder.created_at < arrived + CLOCK_SLACK)) if own not in (reminder.known_ids or ())]
    for reminder in pending:
        reminder.state, reminder.settled_at = "cancelled", utcnow()
        thread = session.get(TeamThread, reminder.thread_id)
        _event(thread, "follow_up_cancelled", reason="reply", reply=message_id.lower()[:300])
    if message_id:  # the reply belongs to the conversation from now on (found by its own ID too)
        thread_for(mailbox_id, [message_id, *message_ids_of(min(thread_ids))[:1]], create=True)
    return len(pending)


def _is_reply_from_outside(mailbox_id: int, folder: str, sender: str) -> bool:
    session = _session()
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return False
    own = (mailbox.email or "").lower()
    if own and own in (sender or "").lower():
        return False
    folders = cached_folders(mailbox)
    return folder not in {resolve_folder(mailbox, role, folders) for role in ("sent", "drafts")}


def _replied_since(reminder: TeamReminder) -> bool:
    """Whether the cache holds a reply to the conversation that arrived after the reminder was
    made (what the ``message_received`` hook may have missed: a sync of another process, say)."""
    session = _session()
    ids = set(message_ids_of(reminder.thread_id))
    known = set(reminder.known_ids or ())
    rows = session.execute(
        select(CachedMessage.message_id, CachedMessage.in_reply_to, CachedMessage.references, CachedMessage.from_,
               CachedFolder.name)
        .join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == reminder.mailbox_id, CachedMessage.internal_date > reminder.created_at - CLOCK_SLACK)).all()
    for message_id, in_reply_to, references, sender, folder in rows:
        if (normal_ids([message_id]) or [""])[0] in known:
            continue  # a message of the conversation before the reminder was set
        if set(normal_ids([in_reply_to, references])) & ids and _is_reply_from_outside(reminder.mailbox_id, folder, sender):
            return True
    return False


# -- the job ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    woken: int
    reminded: int
    cancelled: int

    def __str__(self) -> str:
        return f"{self.woken} snoozes ended, {self.reminded} reminders due, {self.cancelled} cancelled by a reply"


def run_due(now: datetime | None = None) -> RunResult:
    """End the snoozes and give the reminders that are due at ``now``. The ``team`` job's work."""
    now = now or utcnow()
    session = _session()
    woken = reminded = cancelled = 0
    for thread in session.scalars(select(TeamThread).where(TeamThread.snoozed_until.is_not(None),
                                                             TeamThread.snoozed_until <= now)
                                  .order_by(TeamThread.snoozed_until).limit(BATCH)):
        snoozer = thread.snoozed_by
        thread.snoozed_until, thread.snoozed_by, thread.returned_at, thread.updated_at = None, None, now, now
        _event(thread, "snooze_ended", by=snoozer)
        if snoozer:
            notify(snoozer, "snooze_ended", SNOOZE_NOTICE, {"subject": _subject(thread)},
                   mailbox_id=thread.mailbox_id)
        session.add(AuditEntry(actor="system", mailbox_id=thread.mailbox_id, action="team_snooze_ended", at=now,
                               details={"thread": thread.id}))
        woken += 1
    for reminder in session.scalars(select(TeamReminder).where(TeamReminder.state == "pending",
                                                                 TeamReminder.due_at <= now)
                                    .order_by(TeamReminder.due_at).limit(BATCH)):
        thread = session.get(TeamThread, reminder.thread_id)
        if _replied_since(reminder):
            reminder.state, reminder.settled_at = "cancelled", now
            _event(thread, "follow_up_cancelled", reason="reply")
            cancelled += 1
            continue
        reminder.state, reminder.settled_at = "due", now
        thread.returned_at = thread.updated_at = now
        _event(thread, "follow_up_due", user_id=reminder.user_id, reference=reminder.reference)
        notify(reminder.user_id, "follow_up_due", REMINDER_NOTICE, {"subject": _subject(thread)},
               mailbox_id=thread.mailbox_id)
        session.add(AuditEntry(actor="system", mailbox_id=thread.mailbox_id, action="team_follow_up_due", at=now,
                               details={"thread": thread.id, "user": reminder.user_id}))
        reminded += 1
    session.commit()
    deliver_after_commit()
    return RunResult(woken, reminded, cancelled)


def _subject(thread: TeamThread) -> str:
    """The subject of the conversation's newest cached message, or a dash."""
    ids = message_ids_of(thread.id)
    if not ids:
        return "—"
    subject = _session().scalar(
        select(CachedMessage.subject).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == thread.mailbox_id, func.lower(CachedMessage.message_id).in_(ids))
        .order_by(CachedMessage.date.desc()).limit(1))
    return (subject or "—")[:200]
