"""The mailboxes a user may read with the unread count of each INBOX: the left navigation and
the mail start page ask this on every page, so it costs one query whatever the number of
mailboxes (the readable mailboxes joined with their INBOX's counts)."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import and_, bindparam, or_, select

from .._state import mail_state
from ..models import CachedFolder, Mailbox, MailboxGrant
from ..rights import access
from .info import MailboxInfo


@dataclass(frozen=True)
class MailboxUnread:
    mailbox: Mailbox
    unread: int  # in its INBOX, as last synced


def readable_with_unread(user) -> list[MailboxUnread]:
    """Every live mailbox ``user`` may read, by title, with its INBOX's unread count."""
    query = access.mailboxes_with_query(user, "read", CachedFolder.unseen).outerjoin(
        CachedFolder, and_(CachedFolder.mailbox_id == Mailbox.id, CachedFolder.name == "INBOX"))
    return [MailboxUnread(mailbox, unseen or 0) for mailbox, unseen in mail_state().db.session.execute(query)]


_INFO_COLUMNS = (Mailbox.id, Mailbox.title, Mailbox.email, Mailbox.kind, Mailbox.sender_name,
                 Mailbox.folder_roles, Mailbox.last_test_ok)
# Built once, the user's ids bound per call (the navigation asks on every page, and building the
# statement costs more than running it): live mailboxes on which the user or one of the groups
# holds *read*, with the unread count of the INBOX.
_READABLE_INFOS = (
    select(*_INFO_COLUMNS, CachedFolder.unseen)
    .outerjoin(CachedFolder, and_(CachedFolder.mailbox_id == Mailbox.id, CachedFolder.name == "INBOX"))
    .where(Mailbox.deleted_at.is_(None), Mailbox.id.in_(
        select(MailboxGrant.mailbox_id).where(MailboxGrant.right == "read", or_(
            and_(MailboxGrant.principal_type == "user", MailboxGrant.principal_id == bindparam("user_id")),
            and_(MailboxGrant.principal_type == "group",
                 MailboxGrant.principal_id.in_(bindparam("group_ids", expanding=True)))))))
    .order_by(Mailbox.title, Mailbox.id))


def readable_infos_with_unread(user) -> list[tuple[MailboxInfo, int]]:
    """Like :func:`readable_with_unread`, as :class:`MailboxInfo` values: the columns the left
    navigation shows and hooks receive, not whole rows (the navigation asks on every page)."""
    rows = mail_state().db.session.execute(_READABLE_INFOS, {
        "user_id": str(user.get_id()),
        "group_ids": sorted(str(group_id) for group_id in getattr(user, "group_ids", ()))})
    found = []
    for mailbox_id, title, email, kind, sender_name, folder_roles, last_test_ok, unseen in rows:
        info = MailboxInfo(id=mailbox_id, title=title or "", email=email or "", kind=kind,
                           sender_name=sender_name or "",
                           folder_roles=MappingProxyType(dict(folder_roles or {})),
                           usable=bool(last_test_ok))  # deleted mailboxes are left out
        found.append((info, unseen or 0))
    return found
