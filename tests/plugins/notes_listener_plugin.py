"""A test plugin that records the ``note_added`` calls it receives (``calls``)."""
from __future__ import annotations

from tricoma_mail_plugin import hookimpl

calls: list[dict] = []


@hookimpl
def tricoma_mail_note_added(mailbox, conversation, note_id, author_id, mentioned_ids, text):
    calls.append({"mailbox": mailbox, "conversation": conversation, "note_id": note_id, "author_id": author_id,
                  "mentioned_ids": mentioned_ids, "text": text})
