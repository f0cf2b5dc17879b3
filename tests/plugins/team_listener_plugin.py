"""A test plugin that records the team mail hooks it receives (``calls``: name and arguments)."""
from __future__ import annotations

from tricoma_mail_plugin import hookimpl

calls: list[tuple[str, dict]] = []


@hookimpl
def tricoma_mail_conversation_assigned(mailbox, conversation, assignee_id, previous_assignee_id, by):
    calls.append(("conversation_assigned", {"mailbox": mailbox, "conversation": conversation,
                                            "assignee_id": assignee_id, "previous_assignee_id": previous_assignee_id,
                                            "by": by}))


@hookimpl
def tricoma_mail_conversation_status_changed(mailbox, conversation, status, previous_status, by):
    calls.append(("conversation_status_changed", {"mailbox": mailbox, "conversation": conversation, "status": status,
                                                  "previous_status": previous_status, "by": by}))


@hookimpl
def tricoma_mail_snooze_ended(mailbox, conversation):
    calls.append(("snooze_ended", {"mailbox": mailbox, "conversation": conversation}))


@hookimpl
def tricoma_mail_follow_up_due(mailbox, conversation, user_id, reference):
    calls.append(("follow_up_due", {"mailbox": mailbox, "conversation": conversation, "user_id": user_id,
                                    "reference": reference}))
