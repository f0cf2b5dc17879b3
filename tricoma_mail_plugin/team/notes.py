"""Internal notes on a conversation of a shared mailbox, with @mentions.

A note is team talk about a conversation ("customer called, promised payment by Friday
@bob"). It belongs to the conversation's team thread (found by its Message-IDs, so it stays
through resyncs, moves and UID changes), lives only in this database and is never sent by mail
nor stored on the IMAP server. ``@login`` names a user: one who may read the mailbox gets a
notice; naming a user who may not read it refuses the note, so nobody is told of mail they
cannot open. Notes show in the conversation and in the mail history of every record the
conversation's mail is linked to (to users who may read the mailbox).

Adding a note is one transaction: the note, the notices, a ``team`` event (action
``note_added``: open v2 pages refresh, plugins hear ``note_added``) and the audit entry.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .._state import mail_state
from ..errors import InvalidSettings
from ..events.outbox import deliver_after_commit, record_event
from ..models import AuditEntry, TeamNote, utcnow
from ..notices import notice_text, notify
from ..plugins.ui import mailbox_client_url
from ..records.references import Reference
from ..rights import access
from ..rights.directory import directory
from .tables import TeamThread, TeamThreadMessage
from .threads import linked_message_ids, message_ids_of, normal_ids, thread_for

#: a mention: ``@`` after a space, a line start or an opening bracket (not inside an address)
_MENTION = re.compile(r"(?<![\w.@+\-])@([\w][\w.\-]{0,198})")
MAX_CHARACTERS = 10_000
MAX_MENTIONS = 20
EVENT_IDS = 50

MENTION_NOTICE = notice_text("%(author)s mentioned you in a note on “%(subject)s”")


def _session():
    return mail_state().db.session


@dataclass(frozen=True)
class NotePerson:
    id: str
    label: str
    login: str


@dataclass(frozen=True)
class Note:
    """A note as a page shows it."""

    id: int
    thread_id: int
    mailbox_id: int
    author: NotePerson
    text: str
    mentions: tuple[NotePerson, ...]
    created_at: datetime

    def as_json(self) -> dict:
        return {"id": self.id, "thread_id": self.thread_id, "author": _person_json(self.author), "text": self.text,
                "mentions": [_person_json(p) for p in self.mentions], "created_at": self.created_at.isoformat()}


def _person_json(person: NotePerson) -> dict:
    return {"id": person.id, "label": person.label, "login": person.login}


def mentionable(mailbox_id: int) -> list[NotePerson]:
    """The users a note on the mailbox may mention: those who may read it, by name."""
    return [NotePerson(str(principal.id), principal.label, principal.name)
            for principal in access.users_with(mailbox_id, "read")]


def mentioned_logins(text: str) -> list[str]:
    """The ``@login`` names of ``text``, in order, without repeats (a sentence's last dot is not
    part of the name)."""
    found: dict[str, None] = {}
    for name in _MENTION.findall(text or ""):
        found.setdefault(name.rstrip(".-").casefold(), None)
    return [name for name in found if name]


def _resolve_mentions(text: str, mailbox_id: int) -> list[NotePerson]:
    people = []
    for login in mentioned_logins(text)[:MAX_MENTIONS]:
        principal = directory().find("user", login)
        if principal is None or principal.name.casefold() != login:
            continue  # no such user: the @ is plain text ("@home", a handle elsewhere)
        user = directory().load_user(str(principal.id))
        if user is None or "read" not in access.effective_rights(user, mailbox_id):
            raise InvalidSettings(str(_l(
                "%(name)s (@%(login)s) may not read this mailbox, so the note cannot mention them. "
                "Remove the mention or ask someone who manages the mailbox to give them the right to read it.",
                name=principal.label, login=principal.name)), field="text")
        people.append(NotePerson(str(principal.id), principal.label, principal.name))
    return people


def add_note(user, mailbox_id: int, message_ids: Iterable[str], text: str, *, subject: str = "") -> Note:
    """Add a note to the conversation that ``message_ids`` belong to (made when it has no team
    thread yet). Needs *read* on the mailbox. Commits and delivers the ``team`` event."""
    mailbox = access.require(user, mailbox_id, "read")
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidSettings(str(_l("Write the note first.")), field="text")
    if len(text) > MAX_CHARACTERS:
        raise InvalidSettings(str(_l("A note holds at most %(count)d characters.", count=MAX_CHARACTERS)),
                              field="text")
    ids = normal_ids(message_ids)
    if not ids:
        raise InvalidSettings(str(_l("This message has no Message-ID; team functions need one.")))
    mentioned = _resolve_mentions(text, mailbox_id)
    session = _session()
    thread = thread_for(mailbox_id, ids, create=True)
    author_id = str(user.get_id())
    note = TeamNote(thread_id=thread.id, mailbox_id=mailbox_id, author_id=author_id, body=text,
                    mentions=[person.id for person in mentioned], created_at=utcnow())
    session.add(note)
    session.flush()
    author = _person(author_id)
    link = _link(mailbox)
    for person in mentioned:
        if person.id != author_id:
            notify(person.id, "mention", MENTION_NOTICE, {"author": author.label, "subject": subject[:200] or "—"},
                   link, mailbox_id=mailbox_id)
    record_event("team", mailbox_id, {
        "action": "note_added", "thread_id": thread.id, "message_ids": message_ids_of(thread.id)[:EVENT_IDS],
        "assignee_id": thread.assignee_id, "status": thread.status,
        "snoozed_until": thread.snoozed_until.isoformat() if thread.snoozed_until else None,
        "note_id": note.id, "author_id": author_id, "mentioned_ids": [person.id for person in mentioned],
        "text": text})
    session.add(AuditEntry(actor=author_id, mailbox_id=mailbox_id, action="team_note_added", at=utcnow(),
                           details={"thread": thread.id, "note": note.id, "subject": subject[:200],
                                    "mentioned": [person.id for person in mentioned]}))
    session.commit()
    deliver_after_commit()
    return _note(session.get(TeamNote, note.id))


def notes_of(user, mailbox_id: int, message_ids: Iterable[str]) -> list[Note]:
    """The notes of the conversation, oldest first (none when it has no team thread)."""
    access.require(user, mailbox_id, "read")
    thread = thread_for(mailbox_id, message_ids)
    if thread is None:
        return []
    rows = _session().scalars(select(TeamNote).where(TeamNote.thread_id == thread.id).order_by(TeamNote.id))
    return [_note(row) for row in rows]


@dataclass(frozen=True)
class RecordNote:
    """A note in a record's mail history: the note and the conversation's mailbox."""

    note: Note
    mailbox_title: str


def notes_for_reference(reference: Reference, user) -> list[RecordNote]:
    """The notes on conversations whose mail is linked to the record, newest first: only those
    of mailboxes ``user`` may read."""
    session = _session()
    found: list[RecordNote] = []
    for mailbox, ids in linked_message_ids(reference, user):
        thread_ids = select(TeamThreadMessage.thread_id).where(TeamThreadMessage.mailbox_id == mailbox.id,
                                                               TeamThreadMessage.message_id.in_(sorted(ids)))
        rows = session.scalars(select(TeamNote).join(TeamThread, TeamThread.id == TeamNote.thread_id)
                               .where(TeamNote.thread_id.in_(thread_ids), TeamNote.mailbox_id == mailbox.id))
        found.extend(RecordNote(_note(row), mailbox.title) for row in rows)
    found.sort(key=lambda entry: (entry.note.created_at, entry.note.id), reverse=True)
    return found


def _note(row: TeamNote) -> Note:
    mentions = tuple(_person(user_id) for user_id in row.mentions or ())
    return Note(row.id, row.thread_id, row.mailbox_id, _person(row.author_id), row.body, mentions, row.created_at)


def _person(user_id: str) -> NotePerson:
    found = directory().find("user", str(user_id))
    if found is None or str(found.id) != str(user_id):
        return NotePerson(str(user_id), f"#{user_id}", "")
    return NotePerson(str(found.id), found.label, found.name)


def _link(mailbox) -> str | None:
    try:
        link = mailbox_client_url(mailbox)
    except RuntimeError:  # no request to build a URL in
        return None
    return link if link and link.startswith("/") and not link.startswith("//") else None
