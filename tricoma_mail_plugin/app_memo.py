"""Values a web process builds once and keeps for its life: the same on every page under one key
(a script root, a language), so no page builds them again (the frames' URLs, the host's own
navigation entries)."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")


def remembered_per_app(name: str, key: Hashable, build: Callable[[], T], limit: int) -> T:
    """``build()``'s answer for ``key``, kept in ``current_app.extensions[name]``. At most
    ``limit`` keys: a key may come from a request header (the script root, from gunicorn's
    ``SCRIPT_NAME``), so the store starts over when it is full."""
    held = current_app.extensions.setdefault(name, {})
    found = held.get(key)
    if found is None:
        if len(held) >= limit:
            held.clear()
        found = held[key] = build()
    return found
