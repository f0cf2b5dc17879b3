"""What the v2 page's script receives: folders, messages and conversations as plain JSON values,
built from core's values (:class:`Folder`, :class:`ListedMessage`)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import format_date, format_datetime, format_time, get_timezone

from tricoma_mail_plugin import FOLDER_ROLES, decode_header_text, resolve_folder

from .conversations import Conversation, message_ids
from .i18n import gettext as _

ROLE_ORDER = ("inbox", "drafts", "sent", "archive", "junk", "trash")


def role_labels() -> dict[str, str]:
    return {"inbox": _("Inbox"), "drafts": _("Drafts"), "sent": _("Sent"), "archive": _("Archive"),
            "junk": _("Junk"), "trash": _("Trash")}


def folder_roles(mailbox, folders) -> dict[str, str]:
    """Folder name → role (inbox, sent, trash…) for the folders that play one."""
    roles = {"INBOX": "inbox"}
    for role in FOLDER_ROLES:
        name = resolve_folder(mailbox, role, folders)
        if name:
            roles.setdefault(name, role)
    return roles


def folder_values(mailbox, folders) -> list[dict]:
    """The selectable folders, those with a role first (in the usual order), then by name."""
    roles = folder_roles(mailbox, folders)
    labels = role_labels()
    values = []
    for folder in folders:
        if any(flag.lower() == "\\noselect" for flag in folder.flags or ()):
            continue
        role = roles.get(folder.name)
        leaf = folder.name.split(folder.delimiter)[-1] if folder.delimiter else folder.name
        values.append({"name": folder.name, "label": labels[role] if role else leaf, "role": role,
                       "unseen": folder.unseen or 0, "messages": folder.messages or 0})
    values.sort(key=lambda v: (ROLE_ORDER.index(v["role"]) if v["role"] else len(ROLE_ORDER), v["name"].lower()))
    return values


def date_text(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    zone = get_timezone()
    if moment.astimezone(zone).date() == datetime.now(zone).date():
        return format_time(moment, "short")
    return format_date(moment, "medium")


def message_value(message) -> dict:
    return {
        "id": message.id, "folder": message.folder, "uid": message.uid,
        "from": decode_header_text(message.from_), "to": decode_header_text(message.to),
        "cc": decode_header_text(message.cc or ""),
        "subject": message.subject, "date": message.date.isoformat() if message.date else None,
        "date_text": date_text(message.date),
        "date_full": format_datetime(message.date, "medium") if message.date else "—",
        "seen": message.seen, "flagged": message.flagged, "answered": message.answered,
        "has_attachment": message.has_attachment, "preview": message.preview,
        "keywords": list(message.keywords),  # IMAP keywords: the tags team_tags.js shows
        "message_ids": own_and_linked_ids(message),
    }


def conversation_value(conversation: Conversation) -> dict:
    return {
        "key": conversation.key, "subject": conversation.subject, "unread": conversation.unread,
        "count": len(conversation.messages), "folders": list(conversation.folders),
        "latest": message_value(conversation.latest),
        "messages": [message_value(message) for message in conversation.messages],
        "keywords": sorted({keyword for message in conversation.messages for keyword in message.keywords}),
        "message_ids": sorted({value for message in conversation.messages for value in own_and_linked_ids(message)}),
    }


def own_and_linked_ids(message) -> list[str]:
    """A message's own Message-ID first, then those it answers (In-Reply-To, References): what
    team mail finds a conversation's state by."""
    seen: dict[str, None] = {}
    for header in (message.message_id, message.in_reply_to, message.references):
        for value in message_ids(header):
            seen.setdefault(value, None)
    return list(seen)
