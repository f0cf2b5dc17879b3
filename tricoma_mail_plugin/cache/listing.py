"""Message lists from the local cache: one folder, or the unified inbox across mailboxes; sorted
by date, sender, subject or size; pages of 50 by keyset (the 100th page costs what the first
does). Callers pass only folders the user may read (``access``)."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, Select, and_, false, func, literal, or_, select

from .._state import mail_state
from ..models import CachedFolder, CachedMessage, Mailbox

PAGE_SIZE = 50
SORT_COLUMNS = {
    "date": CachedMessage.date,
    "from": CachedMessage.sender_sort,  # the shown name, whatever case or quotes it is written in
    "subject": CachedMessage.subject,
    "size": CachedMessage.size,
}


@dataclass(frozen=True)
class ListedMessage:
    id: int
    mailbox_id: int
    mailbox_title: str
    folder: str
    uid: int
    from_: str
    to: str
    subject: str
    date: datetime | None
    size: int
    seen: bool
    flagged: bool
    answered: bool
    has_attachment: bool
    preview: str
    # the threading headers, for clients that group conversations
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    # the message's IMAP keywords (flags without a backslash: tags, $Forwarded …), as stored
    keywords: tuple[str, ...] = ()
    cc: str = ""  # the Cc header as cached (undecoded, like ``from_`` and ``to``)


def keywords_of(flags: str) -> tuple[str, ...]:
    """The keywords among a cached message's flags (system flags start with a backslash)."""
    return tuple(flag for flag in flags.split() if not flag.startswith("\\")) if flags else ()


def with_keyword(query: Select, keyword: str) -> Select:
    """Only the messages that carry ``keyword`` (IMAP keywords match case-insensitively); a
    value that cannot be a keyword (spaces, control characters, non-ASCII) matches nothing."""
    if not keyword.isascii() or not keyword.isprintable() or " " in keyword:
        return query.where(false())
    padded = func.lower(literal(" ") + CachedMessage.flags + literal(" "))
    return query.where(padded.contains(f" {keyword.lower()} ", autoescape=True))


@dataclass(frozen=True)
class MessagePage:
    messages: list[ListedMessage]
    next_cursor: str | None  # None on the last page


def encode_cursor(value, message_pk: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, message_pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    """``(value, id)`` of a cursor; ``ValueError`` for anything that is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, message_pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise ValueError("not a list cursor") from error
    if isinstance(value, dict) and set(value) == {"t"}:
        value = datetime.fromisoformat(value["t"])
    if not isinstance(message_pk, int) or not isinstance(value, (str, int, datetime, type(None))):
        raise ValueError("not a list cursor")
    return value, message_pk


def list_messages(folder_ids: list[int] | Select | ScalarSelect, sort: str = "date", descending: bool = True,
                  cursor: str | None = None, limit: int = PAGE_SIZE, keyword: str | None = None) -> MessagePage:
    """One page of the messages in ``folder_ids`` (a list, :func:`folders_named` or
    :func:`folder_named`), after ``cursor``; with ``keyword``, only the messages tagged with it."""
    column = SORT_COLUMNS.get(sort)
    if column is None:
        raise ValueError(f"unknown sort {sort!r}")
    if isinstance(folder_ids, list) and not folder_ids:
        return MessagePage([], None)
    # the sort value comes back after the shown columns: the next page's cursor holds it
    query = messages_in(folder_ids).add_columns(column)
    if keyword:
        query = with_keyword(query, keyword)
    if cursor:
        query = after(query, column, *decode_cursor(cursor), descending)
    rows = mail_state().db.session.execute(in_list_order(query, column, descending).limit(limit + 1)).all()
    messages = listed_messages(row[:-1] for row in rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last[-1], last[0])
    return MessagePage(messages, next_cursor)


def after(query: Select, column, value, message_pk: int, descending: bool) -> Select:
    """Only the messages the list shows after the one whose sort value is ``value`` and id is
    ``message_pk``: the keyset of a page's cursor and of a message's neighbours."""
    after_pk = CachedMessage.id < message_pk if descending else CachedMessage.id > message_pk
    if value is None:
        return query.where(after_pk)
    before = (column < value) if descending else (column > value)
    # The bound alone (``<=``) repeats what the OR says: a planner seeks the index there
    # instead of reading the folder from its start (SQLite cannot range-scan an OR).
    bound = (column <= value) if descending else (column >= value)
    return query.where(bound, or_(before, and_(column == value, after_pk)))


def in_list_order(query: Select, column, descending: bool) -> Select:
    """``query`` in the order a list shows: by ``column``, ties by id, both the same way."""
    if descending:
        return query.order_by(column.desc(), CachedMessage.id.desc())
    return query.order_by(column.asc(), CachedMessage.id.asc())


@dataclass(frozen=True)
class Neighbours:
    """The ids of the messages a folder's list shows right above (``previous``) and below
    (``next``) a message; ``None`` at either end."""

    previous: int | None
    next: int | None


def neighbours(message: CachedMessage, sort: str = "date", descending: bool = True,
               keyword: str | None = None) -> Neighbours:
    """The messages above and below ``message`` in its folder's list sorted by ``sort`` (with
    ``keyword``, the list of the messages tagged with it): one query, of one row from each side,
    each read from the folder's index when sorted by date. ``ValueError`` for an unknown sort."""
    column = SORT_COLUMNS.get(sort)
    if column is None:
        raise ValueError(f"unknown sort {sort!r}")
    query = select(CachedMessage.id).where(CachedMessage.folder_id == message.folder_id)
    if keyword:
        query = with_keyword(query, keyword)
    value = getattr(message, column.key)

    def first_after(down: bool) -> ScalarSelect:
        # above the message is after it in the list's order turned round
        return in_list_order(after(query, column, value, message.id, down), column, down).limit(1).scalar_subquery()

    previous, next_ = mail_state().db.session.execute(select(first_after(not descending),
                                                             first_after(descending))).one()
    return Neighbours(previous=previous, next=next_)


# The columns a list shows, read as plain values: no ORM object is built for a listed row.
_LISTED = (CachedMessage.id, CachedFolder.mailbox_id, Mailbox.title, CachedFolder.name, CachedMessage.uid,
           CachedMessage.from_, CachedMessage.to, CachedMessage.subject, CachedMessage.date, CachedMessage.size,
           CachedMessage.seen, CachedMessage.flagged, CachedMessage.flags, CachedMessage.has_attachment,
           CachedMessage.preview, CachedMessage.message_id, CachedMessage.in_reply_to, CachedMessage.references,
           CachedMessage.cc)


def messages_in(folder_ids: list[int] | Select | ScalarSelect):
    """The query of every cached message in ``folder_ids`` with its folder and mailbox; callers
    add filters, order and limit and hand the rows to :func:`listed_messages`."""
    if isinstance(folder_ids, ScalarSelect) or isinstance(folder_ids, list) and len(folder_ids) == 1:
        # one folder by equality: the database reads its index on (folder, date, id) in order and
        # stops after the page, where "IN" made it collect and sort every row after the cursor
        in_folders = CachedMessage.folder_id == (folder_ids if isinstance(folder_ids, ScalarSelect) else folder_ids[0])
    else:
        in_folders = CachedMessage.folder_id.in_(folder_ids)
    return (
        select(*_LISTED)
        .join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .join(Mailbox, Mailbox.id == CachedFolder.mailbox_id)
        .where(in_folders)
    )


def listed_messages(rows: Iterable) -> list[ListedMessage]:
    """The rows of a :func:`messages_in` query as values."""
    return [ListedMessage(pk, mailbox_id, title, folder, uid, from_, to, subject, date, size, seen, flagged,
                          "\\Answered" in flags.split(), has_attachment, preview, message_id or "",
                          in_reply_to or "", references or "", keywords_of(flags), cc or "")
            for (pk, mailbox_id, title, folder, uid, from_, to, subject, date, size, seen, flagged, flags,
                 has_attachment, preview, message_id, in_reply_to, references, cc) in rows]


def listed_message(message: CachedMessage, folder: str, mailbox_id: int, title: str) -> ListedMessage:
    flags = message.flags.split()
    return ListedMessage(message.id, mailbox_id, title, folder, message.uid, message.from_, message.to,
                         message.subject, message.date, message.size, message.seen, message.flagged,
                         "\\Answered" in flags, message.has_attachment, message.preview,
                         message.message_id or "", message.in_reply_to or "", message.references or "",
                         keywords_of(message.flags), message.cc or "")


def folder_ids(mailbox_id: int, names: list[str] | None = None) -> list[int]:
    return list(mail_state().db.session.scalars(folders_named(mailbox_id, names)))


def folders_named(mailbox_id: int, names: list[str] | None = None) -> Select:
    """The ids of the mailbox's folders (of those ``names``) as a subquery: a list can take it
    in place of :func:`folder_ids` and save the query."""
    query = select(CachedFolder.id).where(CachedFolder.mailbox_id == mailbox_id)
    if names is not None:
        query = query.where(CachedFolder.name.in_(names))
    return query


def folder_named(mailbox_id: int, name: str) -> ScalarSelect:
    """The id of the mailbox's folder ``name`` as a scalar subquery (``NULL``: no such folder), for
    :func:`list_messages`: one folder's list read in the order of its index."""
    return folders_named(mailbox_id, [name]).scalar_subquery()


def inbox_folder_ids(mailbox_ids: list[int]) -> list[int]:
    """The INBOX of each mailbox: what the unified inbox lists."""
    if not mailbox_ids:
        return []
    return list(mail_state().db.session.scalars(
        select(CachedFolder.id).where(CachedFolder.mailbox_id.in_(mailbox_ids), CachedFolder.name == "INBOX")))
