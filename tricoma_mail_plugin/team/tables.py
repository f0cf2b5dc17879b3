"""The tables of team mail (prefix ``tricoma_mail_team_``): a conversation of a shared mailbox
as one row, keyed by the Message-IDs of its messages (not by UID or folder, so its state survives
resyncs, moves between folders and the same mail read from Thunderbird), with its assignee,
status and snooze; who has a reply open on it; and the follow-up reminders.

They live on core's metadata (:class:`Base`), so core's migrations create them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, UtcDateTime, utcnow

#: The statuses of a conversation, in the order the views list them.
STATUSES = ("open", "waiting", "done")


class TeamThread(Base):
    """One conversation of one mailbox. ``assignee_id`` is a host user id (None: nobody);
    ``returned_at`` is when its snooze last ended (the list shows it on top from then on)."""

    __tablename__ = "tricoma_mail_team_thread"
    __table_args__ = (Index("ix_tricoma_mail_team_thread_mailbox_assignee", "mailbox_id", "assignee_id"),
                      Index("ix_tricoma_mail_team_thread_snoozed_until", "snoozed_until"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    assignee_id: Mapped[str | None] = mapped_column(String(200))
    assigned_by: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open")
    status_by: Mapped[str | None] = mapped_column(String(200))
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    snoozed_by: Mapped[str | None] = mapped_column(String(200))
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    replied_by: Mapped[str | None] = mapped_column(String(200))  # the last reply sent from a team editor
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TeamThreadMessage(Base):
    """A Message-ID (lower case, with its angle brackets) of a conversation's message."""

    __tablename__ = "tricoma_mail_team_thread_message"
    __table_args__ = (UniqueConstraint("mailbox_id", "message_id", name="uq_tricoma_mail_team_thread_message_mailbox_id"),
                      Index("ix_tricoma_mail_team_thread_message_thread_id", "thread_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # PostgreSQL names have at most 63 characters: the foreign keys are named by hand
    thread_id: Mapped[int] = mapped_column(ForeignKey("tricoma_mail_team_thread.id", ondelete="CASCADE",
                                                      name="fk_tricoma_mail_team_thread_message_thread"))
    mailbox_id: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(998))


class TeamPresence(Base):
    """A user who has a reply open on a conversation, since ``started_at``; ``seen_at`` is the
    last sign of life of the open editor (an entry not seen for a while is over)."""

    __tablename__ = "tricoma_mail_team_presence"

    thread_id: Mapped[int] = mapped_column(ForeignKey("tricoma_mail_team_thread.id", ondelete="CASCADE",
                                                      name="fk_tricoma_mail_team_presence_thread"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TeamReminder(Base):
    """"Remind me if nobody answers by ``due_at``": ``state`` is ``pending``, ``due`` (the
    reminder was given), or ``cancelled`` (a reply came first, or the user took it back)."""

    __tablename__ = "tricoma_mail_team_reminder"
    __table_args__ = (Index("ix_tricoma_mail_team_reminder_state_due", "state", "due_at"),
                      Index("ix_tricoma_mail_team_reminder_thread_id", "thread_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("tricoma_mail_team_thread.id", ondelete="CASCADE",
                                                      name="fk_tricoma_mail_team_reminder_thread"))
    mailbox_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(10), default="pending")
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reference: Mapped[str | None] = mapped_column(Text)  # the linked record ("invoice:42"), if any
    # the conversation's Message-IDs when the reminder was set: a reply is a message not among them
    known_ids: Mapped[list] = mapped_column(JSON, default=list)
