"""Per-mailbox rights: the catalogue of rights core and plugins define. Grants are kept by
:mod:`.grants` and checked by :mod:`.access`; this module only knows which rights exist."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .._state import mail_state


@dataclass(frozen=True)
class Right:
    """A right a user or group can be granted on one mailbox."""

    key: str
    label: str
    description: str = ""


#: Core's rights; plugins add theirs through ``register_rights``.
CORE_RIGHTS: tuple[Right, ...] = (
    Right("read", _l("Read"), _l("List and read the mailbox's mail.")),
    Right("write", _l("Write"), _l("Set flags, move and file mail.")),
    Right("delete", _l("Delete"), _l("Move mail to Trash and empty Trash.")),
    Right("send", _l("Send"), _l("Write mail from this mailbox.")),
    Right("send_from_apps", _l("Send from apps"), _l("Send from other apps, such as invoices.")),
    Right("manage", _l("Manage"), _l("Change settings, folders and rights.")),
)

CORE_RIGHT_KEYS: tuple[str, ...] = tuple(right.key for right in CORE_RIGHTS)


def available_rights() -> list[Right]:
    """Every right of the current app: the enabled plugins' (``register_rights``) and core's.

    Raises ``ValueError`` when two rights share a key.
    """
    rights = mail_state().hooks.collect("register_rights")
    seen: dict[str, Right] = {}
    for right in rights:
        if right.key in seen:
            raise ValueError(f"two plugins define the right {right.key!r}")
        seen[right.key] = right
    return list(seen.values())
