"""Values a web process builds once and keeps for its life: the same on every page under one key
(a script root, a language), so no page builds them again (the frames' URLs, the host's own
navigation entries)."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app, has_request_context, request, url_for

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


_URLS_KEY = "tricoma_mail_remembered_urls"
#: URLs one process keeps before it starts again (one per endpoint, values and script root)
MAX_URLS = 4096


def remembered_url(endpoint: str, **values: str | int) -> str:
    """``url_for(endpoint, **values)``, built once per process for the request's script root:
    for the URLs every page's navigation asks again (the URL map's build costs more than the
    rest of a menu entry). Only for endpoints whose URL depends on nothing but the values (no
    ``url_defaults`` reading the request). Outside a request it is ``url_for``'s answer."""
    if not has_request_context():
        return url_for(endpoint, **values)
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    return remembered_per_app(_URLS_KEY, key, lambda: url_for(endpoint, **values), MAX_URLS)
