"""Assign and status from a message list of several mailboxes (the unified inbox's bulk
actions): the chosen messages' conversations, each changed once, through the same services the
v2 client's buttons call (notice, event, audit)."""
from __future__ import annotations

from ..mail.message_actions import chosen_across
from . import state
from .tables import STATUSES
from .threads import normal_ids

#: the list's actions: assign to the user who chose them, to nobody, or set a status
ACTIONS = ("assign_me", "assign_nobody", *(f"status_{status}" for status in STATUSES))


def act_across(user, chosen: dict[int, list[int]], action: str) -> int:
    """``action`` on the conversations of the chosen messages (``{mailbox_id: [message pk]}``).
    Every mailbox's *read* right and every message is checked before anything changes: one id
    the user may not use refuses the whole request. Returns how many conversations changed."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    conversations: list[tuple[int, list[str], str]] = []  # (mailbox, its Message-IDs, subject)
    for mailbox_id, messages in chosen_across(user, chosen, "read").items():
        found: list[tuple[list[str], str]] = []  # this mailbox's conversations: their Message-IDs, a subject
        for message in messages:
            ids = normal_ids([message.message_id or "", message.in_reply_to or "", message.references or ""])
            if not ids:
                continue
            # two mails of one conversation change it once, with the Message-IDs of both
            shared = next((known for known, _subject in found if set(known) & set(ids)), None)
            if shared is None:
                found.append((ids, message.subject or ""))
            else:
                shared.extend(value for value in ids if value not in shared)
        conversations.extend((mailbox_id, ids, subject) for ids, subject in found)
    changed = 0
    me = str(user.get_id())
    for mailbox_id, ids, subject in conversations:
        before = state.conversation_state(user, mailbox_id, ids)
        if action.startswith("status_"):
            after = state.set_status(user, mailbox_id, ids, action.removeprefix("status_"), subject=subject)
        else:
            after = state.assign(user, mailbox_id, ids, me if action == "assign_me" else None, subject=subject)
        changed += (before.assignee, before.status) != (after.assignee, after.status)
    return changed
