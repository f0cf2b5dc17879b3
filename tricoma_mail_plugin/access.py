"""Who may do what with which mailbox: the one place every view, CLI command, job and API call
asks.

Effective rights are the union of the rights granted to the user and to each of the user's
groups. Admins of the host may manage every mailbox (settings, folders, rights) without a grant;
they read mail only where they hold *read* like anyone else.
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from .errors import MailboxNotFound, NotAllowed
from .extension import mail_state
from .models import Mailbox, MailboxGrant

ADMIN_RIGHTS = frozenset({"manage"})


def _principals(user) -> list:
    conditions = [
        and_(MailboxGrant.principal_type == "user", MailboxGrant.principal_id == str(user.get_id()))
    ]
    group_ids = [str(group_id) for group_id in getattr(user, "group_ids", ())]
    if group_ids:
        conditions.append(
            and_(MailboxGrant.principal_type == "group", MailboxGrant.principal_id.in_(group_ids))
        )
    return conditions


def effective_rights(user, mailbox_id: int) -> frozenset[str]:
    """Every right ``user`` holds on the mailbox, read fresh from the database."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    session = mail_state().db.session
    rows = session.scalars(
        select(MailboxGrant.right).where(MailboxGrant.mailbox_id == mailbox_id, or_(*_principals(user)))
    )
    rights = frozenset(rows)
    if getattr(user, "is_admin", False):
        rights |= ADMIN_RIGHTS
    return rights


def require(user, mailbox_id: int, right: str) -> Mailbox:
    """The mailbox if ``user`` holds ``right`` on it.

    Raises :class:`MailboxNotFound` when the mailbox does not exist, is deleted, or the user
    holds no right at all on it (so foreign ids reveal nothing), and :class:`NotAllowed` when
    the user sees the mailbox but lacks this right.
    """
    session = mail_state().db.session
    mailbox = session.get(Mailbox, mailbox_id) if _valid_id(mailbox_id) else None
    if mailbox is None or mailbox.deleted_at is not None:
        raise MailboxNotFound()
    rights = effective_rights(user, mailbox.id)
    if not rights:
        raise MailboxNotFound()
    if right not in rights:
        raise NotAllowed()
    return mailbox


def mailboxes_with(user, right: str) -> list[Mailbox]:
    """The live mailboxes on which ``user`` holds ``right``, by title."""
    session = mail_state().db.session
    query = select(Mailbox).where(Mailbox.deleted_at.is_(None)).order_by(Mailbox.title, Mailbox.id)
    if not (getattr(user, "is_admin", False) and right in ADMIN_RIGHTS):
        granted = select(MailboxGrant.mailbox_id).where(
            MailboxGrant.right == right, or_(*_principals(user))
        )
        query = query.where(Mailbox.id.in_(granted))
    return list(session.scalars(query))


def grant(mailbox_id: int, principal_type: str, principal_id, right: str) -> None:
    """Give ``right`` to a user or group (no-op if it is already granted). Commits."""
    if principal_type not in ("user", "group"):
        raise ValueError("principal_type must be 'user' or 'group'")
    session = mail_state().db.session
    exists = session.scalar(
        select(MailboxGrant.id).where(
            MailboxGrant.mailbox_id == mailbox_id,
            MailboxGrant.principal_type == principal_type,
            MailboxGrant.principal_id == str(principal_id),
            MailboxGrant.right == right,
        )
    )
    if exists is None:
        session.add(MailboxGrant(mailbox_id=mailbox_id, principal_type=principal_type,
                                 principal_id=str(principal_id), right=right))
        session.commit()


def _valid_id(value) -> bool:
    return isinstance(value, int) and 0 < value < 2**63
