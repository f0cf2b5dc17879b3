"""Conversations: messages grouped into threads by their References and In-Reply-To headers
(RFC 5322 §3.6.4), with the subject as the fallback for mail whose client dropped them.

Pure logic over :class:`ListedMessage` values of several folders (INBOX and Sent, say), so a
reply that lives in Sent joins the thread of the mail it answers. A union-find over Message-IDs:
every message joins the set of its own ID, its parent and each of its references; messages
without any link to another message of the list join the thread of the same base subject.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

_ID = re.compile(r"<[^<>\s]+>")
_PREFIX = re.compile(r"^\s*((re|aw|fwd?|wg|sv|antw|vs)(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Conversation:
    """One thread: its messages oldest first; ``latest`` is the newest message."""

    key: str
    subject: str
    messages: tuple  # ListedMessage values, oldest first

    @property
    def latest(self):
        return self.messages[-1]

    @property
    def unread(self) -> int:
        return sum(1 for message in self.messages if not message.seen)

    @property
    def folders(self) -> tuple[str, ...]:
        return tuple(sorted({message.folder for message in self.messages}))


def message_ids(header: str) -> list[str]:
    return [value.lower() for value in _ID.findall(header or "")]


def base_subject(subject: str) -> str:
    """The subject without reply and forward prefixes (Re:, AW:, Fwd:, WG:…), folded for comparing."""
    return " ".join(_PREFIX.sub("", subject or "").split()).casefold()


def group(messages: Iterable) -> list[Conversation]:
    """The conversations of ``messages``, newest conversation first."""
    listed = list(messages)
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(first: str, second: str) -> None:
        parent[find(first)] = find(second)

    own_ids = {}
    for index, message in enumerate(listed):
        own = (message_ids(message.message_id) or [f"#local-{index}"])[0]
        own_ids[index] = own
        find(own)
        for linked in message_ids(message.in_reply_to) + message_ids(message.references):
            union(own, linked)
    # Messages linked to no other message by headers join a thread of the same base subject,
    # preferring one that is linked by headers.
    referenced = {linked for message in listed
                  for linked in message_ids(message.in_reply_to) + message_ids(message.references)}
    orphans = [index for index, message in enumerate(listed)
               if not message_ids(message.in_reply_to) and not message_ids(message.references)
               and own_ids[index] not in referenced]
    by_subject: dict[str, str] = {}
    lone = set(orphans)
    for index in sorted(range(len(listed)), key=lambda i: i in lone):
        by_subject.setdefault(base_subject(listed[index].subject), own_ids[index])
    for index in orphans:
        subject = base_subject(listed[index].subject)
        if subject and by_subject[subject] != own_ids[index]:
            union(own_ids[index], by_subject[subject])
    threads: dict[str, list] = {}
    for index, message in enumerate(listed):
        threads.setdefault(find(own_ids[index]), []).append(message)
    conversations = [_conversation(key, members) for key, members in threads.items()]
    conversations.sort(key=lambda c: (_when(c.latest), c.latest.id), reverse=True)
    return conversations


def _conversation(key: str, members: list) -> Conversation:
    ordered = tuple(sorted(members, key=lambda m: (_when(m), m.id)))
    return Conversation(key, ordered[0].subject, ordered)


def _when(message) -> datetime:
    return message.date or _OLDEST
