"""Per-mailbox rights: the catalogue of rights core and plugins define.

Grants and their enforcement arrive with the rights service; this module only knows which rights
exist.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Right:
    """A right a user or group can be granted on one mailbox."""

    key: str
    label: str
    description: str = ""


def available_rights() -> list[Right]:
    """Every right of the current app: the enabled plugins' (``register_rights``) and core's.

    Raises ``ValueError`` when two rights share a key.
    """
    rights = current_app.extensions["tricoma_mail"].hooks.collect("register_rights")
    seen: dict[str, Right] = {}
    for right in rights:
        if right.key in seen:
            raise ValueError(f"two plugins define the right {right.key!r}")
        seen[right.key] = right
    return list(seen.values())
