"""Team mail in shared mailboxes: a conversation's assignee and status, who is answering it,
snooze and follow-up reminders, the audit of team actions (``threads``, ``state``, ``presence``,
``reminders``, ``audit``)."""
