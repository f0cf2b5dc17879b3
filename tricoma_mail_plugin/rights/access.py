"""Who may do what with which mailbox: the one place every view, CLI command, job and API call
asks.

Effective rights are the union of the rights granted to the user and to each of the user's
groups. Admins of the host may manage every mailbox (settings, folders, rights) without a grant;
they read mail only where they hold *read* like anyone else.
"""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import and_, delete, or_, select

from .._state import mail_state
from ..cache_versions import forget_versions, versioned_cache
from ..errors import MailboxNotFound, NotAllowed
from ..models import AuditEntry, Mailbox, MailboxGrant, is_row_id
from .directory import directory

ADMIN_RIGHTS = frozenset({"manage"})
_RIGHTS_CACHE = "_tricoma_mail_rights"


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
    """Every right ``user`` holds on the mailbox, as the database holds them now.

    In a request, a web process remembers the grants it read under the version of the rights
    (``cache_versions``), which every write to the grants moves: the request asks only the
    version. The key holds the user's groups as this request loaded them, so joining or leaving
    a group counts at once too; the admin flag is applied to what was remembered. Outside a
    request (jobs, CLI) the grants are read.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    # Once per request: a page asks several times (the view, the navigation, the template).
    cache = g.setdefault(_RIGHTS_CACHE, {}) if has_request_context() else {}
    key = (str(user.get_id()), mailbox_id)
    if key in cache:
        return cache[key]
    if has_request_context():
        group_ids = frozenset(str(group_id) for group_id in getattr(user, "group_ids", ()))
        granted = versioned_cache().get_or_load(
            "rights", (key, group_ids), lambda: _granted(user, mailbox_id))
    else:
        granted = _granted(user, mailbox_id)
    rights = granted | ADMIN_RIGHTS if getattr(user, "is_admin", False) else granted
    cache[key] = rights
    return rights


def _granted(user, mailbox_id: int) -> frozenset[str]:
    return frozenset(mail_state().db.session.scalars(
        select(MailboxGrant.right).where(MailboxGrant.mailbox_id == mailbox_id, or_(*_principals(user)))))


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
    return list(mail_state().db.session.scalars(mailboxes_with_query(user, right)))


def users_with(mailbox_id: int, right: str) -> list:
    """The directory's users (principals) who hold ``right`` on the mailbox, in its order."""
    found = []
    for principal in directory().users():
        user = directory().load_user(str(principal.id))
        if user is not None and right in effective_rights(user, mailbox_id):
            found.append(principal)
    return found


def mailboxes_with_query(user, right: str, *columns):
    """The query of :func:`mailboxes_with`: ``Mailbox`` and ``columns`` (of tables a caller joins)
    for the live mailboxes on which ``user`` holds ``right``, by title."""
    query = select(Mailbox, *columns).where(Mailbox.deleted_at.is_(None)).order_by(Mailbox.title, Mailbox.id)
    if not (getattr(user, "is_admin", False) and right in ADMIN_RIGHTS):
        granted = select(MailboxGrant.mailbox_id).where(
            MailboxGrant.right == right, or_(*_principals(user))
        )
        query = query.where(Mailbox.id.in_(granted))
    return query


def grant(mailbox_id: int, principal_type: str, principal_id, right: str, actor: str = "system") -> bool:
    """Give ``right`` to a user or group; audited. Returns False if it was granted already."""
    _check_principal_type(principal_type)
    session = mail_state().db.session
    if _grant_id(mailbox_id, principal_type, principal_id, right) is not None:
        return False
    session.add(MailboxGrant(mailbox_id=mailbox_id, principal_type=principal_type,
                             principal_id=str(principal_id), right=right))
    _forget_cached_rights()
    audit(actor, mailbox_id, "grant", principal=f"{principal_type}:{principal_id}", right=right)
    return True


def revoke(mailbox_id: int, principal_type: str, principal_id, right: str, actor: str) -> bool:
    """Take ``right`` away from a user or group; audited. Returns False if it was not granted."""
    _check_principal_type(principal_type)
    session = mail_state().db.session
    grant_id = _grant_id(mailbox_id, principal_type, principal_id, right)
    if grant_id is None:
        return False
    session.execute(delete(MailboxGrant).where(MailboxGrant.id == grant_id))
    _forget_cached_rights()
    audit(actor, mailbox_id, "revoke", principal=f"{principal_type}:{principal_id}", right=right)
    return True


def grants_of(mailbox_id: int) -> dict[tuple[str, str], set[str]]:
    """``{(principal_type, principal_id): {rights}}`` of one mailbox."""
    result: dict[tuple[str, str], set[str]] = {}
    for row in mail_state().db.session.scalars(select(MailboxGrant).where(MailboxGrant.mailbox_id == mailbox_id)):
        result.setdefault((row.principal_type, row.principal_id), set()).add(row.right)
    return result


def is_shared(mailbox_id: int) -> bool:
    """More than one user, or a group, holds a right on the mailbox: what its people do there
    (delete, send as the mailbox) goes into its audit log; a personal mailbox's does not."""
    holders = grants_of(mailbox_id)
    return len(holders) > 1 or any(kind == "group" for kind, _id in holders)


def explain(user, mailbox_id: int) -> dict[str, list[str]]:
    """Why ``user`` holds each right: ``{right: ["user", "group:<id>", "admin"]}``."""
    sources: dict[str, list[str]] = {}
    group_ids = {str(g) for g in getattr(user, "group_ids", ())}
    for (kind, principal_id), rights in grants_of(mailbox_id).items():
        if (kind == "user" and principal_id == str(user.get_id())) or (kind == "group" and principal_id in group_ids):
            for right in rights:
                sources.setdefault(right, []).append("user" if kind == "user" else f"group:{principal_id}")
    if getattr(user, "is_admin", False):
        for right in ADMIN_RIGHTS:
            sources.setdefault(right, []).append("admin")
    return sources


def audit(actor: str, mailbox_id: int | None, action: str, **details) -> AuditEntry:
    """Write an audit entry and commit (with the change it describes, if not committed yet)."""
    entry = add_audit(actor, mailbox_id, action, **details)
    mail_state().db.session.commit()
    return entry


def add_audit(actor: str, mailbox_id: int | None, action: str, **details) -> AuditEntry:
    """Add an audit entry to the session's transaction; the caller commits it with its change."""
    entry = AuditEntry(actor=str(actor), mailbox_id=mailbox_id, action=action, details=details)
    mail_state().db.session.add(entry)
    return entry


def audit_log(mailbox_id: int, limit: int = 200) -> list[AuditEntry]:
    return list(mail_state().db.session.scalars(
        select(AuditEntry).where(AuditEntry.mailbox_id == mailbox_id)
        .order_by(AuditEntry.id.desc()).limit(limit)))


def _grant_id(mailbox_id: int, principal_type: str, principal_id, right: str) -> int | None:
    return mail_state().db.session.scalar(
        select(MailboxGrant.id).where(
            MailboxGrant.mailbox_id == mailbox_id,
            MailboxGrant.principal_type == principal_type,
            MailboxGrant.principal_id == str(principal_id),
            MailboxGrant.right == right,
        )
    )


def _forget_cached_rights() -> None:
    forget_versions()
    if has_request_context():
        g.pop(_RIGHTS_CACHE, None)


def _check_principal_type(principal_type: str) -> None:
    if principal_type not in ("user", "group"):
        raise ValueError("principal_type must be 'user' or 'group'")


def _valid_id(value) -> bool:
    return is_row_id(value)


def admin_read(user, mailbox_id: int, reason: str) -> None:
    """An admin gives themselves *read* on a mailbox: the one way an admin reads mail without
    having been granted it, always with a stated reason and an audit entry."""
    if not getattr(user, "is_admin", False):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required")
    require(user, mailbox_id, "manage")
    grant(mailbox_id, "user", user.get_id(), "read", actor=str(user.get_id()))
    audit(str(user.get_id()), mailbox_id, "admin_read", reason=reason[:500])
