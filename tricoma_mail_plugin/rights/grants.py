"""The rights matrix of one mailbox (SPEC M6): who holds which right, and the grants and revokes
that turn the matrix into the one a manager asked for.

The rights page and the ``flask mail grant|revoke|rights`` commands use this module. It checks a
request completely before it changes anything, and it changes rights only through
:func:`access.grant` and :func:`access.revoke`, which audit every single change.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..errors import InvalidSettings
from . import access
from .catalogue import CORE_RIGHT_KEYS, Right, available_rights
from .directory import Principal, directory

PRINCIPAL_KINDS = ("user", "group")
_MAX_ID_LENGTH = 200  # MailboxGrant.principal_id


class InvalidRightsChange(InvalidSettings):
    """A rights change names a right, user or group that does not exist, or nothing to give."""

    default_message = _l("The change names a right, user or group that does not exist.")


@dataclass(frozen=True)
class MatrixRow:
    """One user or group that holds at least one right on the mailbox."""

    kind: str  # "user" or "group"
    id: str
    label: str  # the directory's display name; empty when the principal no longer exists
    name: str  # the login or group name; empty when the principal no longer exists
    rights: frozenset[str]

    @property
    def key(self) -> str:
        """How forms and the CLI name this principal: ``user:<id>`` or ``group:<id>``."""
        return f"{self.kind}:{self.id}"

    @property
    def known(self) -> bool:
        """False when the host's directory no longer knows the user or group."""
        return bool(self.name)


@dataclass(frozen=True)
class RightsChange:
    """One grant (``give`` true) or revoke of one right for one principal."""

    kind: str
    id: str
    right: str
    give: bool


@dataclass(frozen=True)
class RightSource:
    """Why a user holds a right: ``kind`` is "user" (granted directly), "group" (``label`` names
    the group) or "admin"."""

    kind: str
    label: str = ""


@dataclass(frozen=True)
class PreviewLine:
    """One right in the "what may this user do here" preview."""

    right: Right
    sources: tuple[RightSource, ...]

    @property
    def held(self) -> bool:
        return bool(self.sources)


# -- reading -------------------------------------------------------------------------------


def ordered_rights() -> list[Right]:
    """The rights of the matrix's columns: core's in their fixed order, then the plugins'."""
    rights = available_rights()
    core = {right.key: right for right in rights if right.key in CORE_RIGHT_KEYS}
    return [core[key] for key in CORE_RIGHT_KEYS if key in core] + [
        right for right in rights if right.key not in CORE_RIGHT_KEYS]


def parse_principal(value: str | None) -> tuple[str, str] | None:
    """``("user", "5")`` from ``"user:5"``; ``None`` when ``value`` is not of that form."""
    kind, sep, principal_id = (value or "").partition(":")
    if not sep or kind not in PRINCIPAL_KINDS or not principal_id or len(principal_id) > _MAX_ID_LENGTH:
        return None
    if not principal_id.isprintable() or principal_id.strip() != principal_id or ":" in principal_id:
        return None
    return kind, principal_id


def lookup(kind: str, principal_id: str) -> Principal | None:
    """The user or group of exactly this id (never one that merely has it as its name)."""
    found = directory().find(kind, principal_id) if kind in PRINCIPAL_KINDS else None
    return found if found is not None and str(found.id) == str(principal_id) else None


def matrix(mailbox_id: int) -> list[MatrixRow]:
    """Every user and group holding a right on the mailbox: users first, each by name."""
    rows = []
    for (kind, principal_id), rights in access.grants_of(mailbox_id).items():
        principal = lookup(kind, principal_id)
        rows.append(MatrixRow(kind, principal_id, principal.label if principal else "",
                              principal.name if principal else "", frozenset(rights)))
    return sorted(rows, key=lambda row: (PRINCIPAL_KINDS.index(row.kind), not row.known,
                                         row.label.casefold(), _numeric_first(row.id)))


def candidates(mailbox_id: int) -> list[Principal]:
    """The directory's users, then its groups, that hold no right on the mailbox yet."""
    holders = set(access.grants_of(mailbox_id))
    return [principal for principal in (*directory().users(), *directory().groups())
            if (principal.kind, str(principal.id)) not in holders]


def has_manager(mailbox_id: int) -> bool:
    """Whether any user or group holds *manage* (admins manage every mailbox regardless)."""
    return any("manage" in rights for rights in access.grants_of(mailbox_id).values())


def preview(user, mailbox_id: int) -> list[PreviewLine]:
    """Each right and why ``user`` holds it (directly, through a group, as admin)."""
    explained = access.explain(user, mailbox_id)
    lines = []
    for right in ordered_rights():
        sources = []
        for source in explained.get(right.key, ()):
            if source.startswith("group:"):
                group_id = source.partition(":")[2]
                group = lookup("group", group_id)
                sources.append(RightSource("group", group.label if group else f"#{group_id}"))
            else:
                sources.append(RightSource(source))
        lines.append(PreviewLine(right, tuple(sorted(sources, key=_source_order))))
    return lines


# -- planning: check everything, change nothing ----------------------------------------------


def plan_matrix(mailbox_id: int, shown: list[str], checked: list[str]) -> list[RightsChange]:
    """The changes that make the rows ``shown`` (principal keys) hold exactly the ``checked``
    cells (``"user:5:read"``). Rows not shown are left alone, and so are rights no enabled
    plugin offers any more (the matrix does not show them, so it cannot mean to revoke them).

    Raises :class:`InvalidRightsChange` for an unknown right, an unknown principal, or a cell
    outside the rows shown; then nothing is to be changed.
    """
    keys = _right_keys()
    current = access.grants_of(mailbox_id)
    wanted: dict[tuple[str, str], set[str]] = {}
    for value in shown:
        principal = parse_principal(value)
        if principal is None or (principal not in current and not lookup(*principal)):
            raise InvalidRightsChange()
        wanted[principal] = set()
    for value in checked:
        kind, _sep, rest = value.partition(":")
        principal_id, sep, right = rest.partition(":")  # a plugin's right key may hold a colon
        principal = parse_principal(f"{kind}:{principal_id}")
        if not sep or principal not in wanted or right not in keys:
            raise InvalidRightsChange()
        wanted[principal].add(right)
    changes = []
    for principal, rights in wanted.items():
        held = current.get(principal, set())
        if rights - held and lookup(*principal) is None:
            raise InvalidRightsChange()  # rights can be taken from a deleted user, not given
        changes += [RightsChange(*principal, right, True) for right in _in_order(rights - held)]
        changes += [RightsChange(*principal, right, False) for right in _in_order((held & keys) - rights)]
    return changes


def plan_grant(mailbox_id: int, kind: str, principal_id: str, rights: list[str]) -> list[RightsChange]:
    """The grants that give an existing user or group ``rights`` (those it lacks)."""
    if lookup(kind, principal_id) is None:
        raise InvalidRightsChange()
    wanted = _known_rights(rights)
    held = access.grants_of(mailbox_id).get((kind, str(principal_id)), set())
    return [RightsChange(kind, str(principal_id), right, True) for right in _in_order(wanted - held)]


def plan_revoke(mailbox_id: int, kind: str, principal_id: str, rights: list[str] | None = None) -> list[RightsChange]:
    """The revokes that take ``rights`` (default: every right, also those of plugins switched
    off) from a user or group, which may no longer exist in the directory."""
    held = access.grants_of(mailbox_id).get((kind, str(principal_id)), set())
    wanted = held if rights is None else _known_rights(rights) & held
    return [RightsChange(kind, str(principal_id), right, False) for right in _in_order(wanted)]


def apply(mailbox_id: int, changes: list[RightsChange], actor: str) -> int:
    """Make the changes, each audited with ``actor``; returns how many changed anything."""
    done = 0
    for change in changes:
        if change.give:
            done += access.grant(mailbox_id, change.kind, change.id, change.right, actor=actor)
        else:
            done += access.revoke(mailbox_id, change.kind, change.id, change.right, actor=actor)
    return done


# -- helpers -------------------------------------------------------------------------------


def _right_keys() -> set[str]:
    return {right.key for right in available_rights()}


def _known_rights(rights: list[str]) -> set[str]:
    wanted = set(rights)
    if not wanted or not wanted <= _right_keys():
        raise InvalidRightsChange()
    return wanted


def _in_order(rights: set[str]) -> list[str]:
    order = {key: index for index, key in enumerate(CORE_RIGHT_KEYS)}
    return sorted(rights, key=lambda key: (order.get(key, len(order)), key))


def _numeric_first(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() and len(value) < 19 else (2**63, value)


def _source_order(source: RightSource) -> tuple[int, str]:
    return ({"user": 0, "group": 1, "admin": 2}.get(source.kind, 3), source.label.casefold())
