"""The hooks a ``team`` event leads to (team mail in shared mailboxes): the event's ``action``
names the hook, so each is delivered like every event, after the commit and at least once."""
from __future__ import annotations

from .values import TeamConversation

#: action of a ``team`` event → the hook it calls, with the payload keys passed on by name
TEAM_ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "assigned": ("conversation_assigned", ("assignee_id", "previous_assignee_id", "by")),
    "status": ("conversation_status_changed", ("status", "previous_status", "by")),
    "snooze_ended": ("snooze_ended", ()),
    "follow_up_due": ("follow_up_due", ("user_id", "reference")),
    "note_added": ("note_added", ("note_id", "author_id", "mentioned_ids", "text")),
}
TEAM_HOOKS: tuple[str, ...] = tuple(hook for hook, _keys in TEAM_ACTIONS.values())


def call_team_hooks(hooks, event, mailbox, listening: frozenset[str]) -> None:
    """Call the hook of ``event``'s action, if a plugin listens; ``mailbox`` is its
    :class:`MailboxInfo` (``None`` when the mailbox is gone: then nobody is called)."""
    hook_and_keys = TEAM_ACTIONS.get(event.payload.get("action"))
    if hook_and_keys is None or mailbox is None or hook_and_keys[0] not in listening:
        return
    hook, keys = hook_and_keys
    conversation = TeamConversation.of_payload(event.mailbox_id, event.payload)
    hooks.call(hook, mailbox=mailbox, conversation=conversation, **{key: event.payload.get(key) for key in keys})
