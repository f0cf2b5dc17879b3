"""The auditor role: users and groups who may search and export the archive. The role gives no
right on any mailbox (they cannot open mailboxes or send), and no mailbox right gives it."""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import and_, delete, or_, select

from .._state import mail_state
from ..cache_versions import forget_versions, versioned_cache
from ..errors import InvalidSettings
from ..models import ArchiveAuditor
from ..rights.access import audit
from ..rights.directory import Principal

_CACHE = "_tricoma_mail_auditor"


def is_auditor(user) -> bool:
    """Whether ``user`` (or one of their groups) holds the auditor role."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if has_request_context() and _CACHE in g:
        return g.get(_CACHE)
    user_id = str(user.get_id())
    group_ids = frozenset(str(group_id) for group_id in getattr(user, "group_ids", ()))

    def read() -> bool:
        conditions = [and_(ArchiveAuditor.principal_type == "user", ArchiveAuditor.principal_id == user_id)]
        if group_ids:
            conditions.append(and_(ArchiveAuditor.principal_type == "group",
                                   ArchiveAuditor.principal_id.in_(sorted(group_ids))))
        return mail_state().db.session.scalar(select(ArchiveAuditor.id).where(or_(*conditions)).limit(1)) is not None

    if not has_request_context():
        return read()
    # Every page's navigation asks: each web process remembers the answer under the version of
    # the rights, which a change of the auditors moves (cache_versions).
    found = versioned_cache().get_or_load("rights", ("auditor", user_id, group_ids), read)
    g.setdefault(_CACHE, found)
    return found


def grant_auditor(principal: Principal, actor: str) -> bool:
    """Give ``principal`` the auditor role (audited). False when it held it already."""
    session = mail_state().db.session
    if _find(principal) is not None:
        return False
    session.add(ArchiveAuditor(principal_type=principal.kind, principal_id=principal.id, granted_by=actor))
    audit(actor, None, "archive_auditor_grant", principal=f"{principal.kind}:{principal.id}")
    _forget()
    return True


def revoke_auditor(principal: Principal, actor: str) -> bool:
    session = mail_state().db.session
    found = _find(principal)
    if found is None:
        return False
    session.execute(delete(ArchiveAuditor).where(ArchiveAuditor.id == found))
    audit(actor, None, "archive_auditor_revoke", principal=f"{principal.kind}:{principal.id}")
    _forget()
    return True


def _forget() -> None:
    """The role changed in this request: ask again."""
    forget_versions()
    if has_request_context():
        g.pop(_CACHE, None)


def auditors() -> list[tuple[str, str]]:
    """``(kind, id)`` of every principal in the role."""
    return [(row.principal_type, row.principal_id) for row in mail_state().db.session.scalars(
        select(ArchiveAuditor).order_by(ArchiveAuditor.principal_type, ArchiveAuditor.principal_id))]


def _find(principal: Principal) -> int | None:
    if principal.kind not in ("user", "group"):
        raise InvalidSettings("an auditor is a user or a group")
    return mail_state().db.session.scalar(select(ArchiveAuditor.id).where(
        ArchiveAuditor.principal_type == principal.kind, ArchiveAuditor.principal_id == principal.id))
