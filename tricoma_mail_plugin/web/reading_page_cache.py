"""The reading page's article, remembered per web process (issue 14, point 4).

Opening a message again (the list and the message side by side, back and forth) asks for the
same page: most of its cost is building the article (toolbar, headers, attachments, the body's
frame) from the template. The view keeps that markup here under a key made of every value the
article shows (``message_views._article_key``: the message row, its render, the user's rights,
language and time zone, the folder tree, tags' version, linked records, sender warnings, the
request's path and query), all read per request, so a change anywhere is a new key, never a
stale page. The page's frame (the host's layout, the navigation) is built per request as before.

The article carries forms, so CSRF tokens: it is kept with a per-process placeholder in their
place and gets the request's token each time it is used. Entries live at most :data:`SECONDS`
(far less than the lifetime of the signed URLs of inline images in the body); the newest
:data:`ENTRIES` are kept, and no more than :data:`MAX_CHARACTERS` of markup (an article carries
its body, up to ``TRICOMA_MAIL_INLINE_BODY_MAX_BYTES``).
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

SECONDS = 600.0
ENTRIES = 64
MAX_CHARACTERS = 8_000_000
_EXTENSION_KEY = "tricoma_mail_reading_page_cache"


class ArticleCache:
    """Rendered articles by key with a value the view needs beside them; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, str, object]] = OrderedDict()
        self._characters = 0
        # random per process: no mail can hold it, so only the tokens' places are filled in
        self._token_mark = f"csrf-mark-{secrets.token_hex(16)}"

    def get_or_render(self, key: Hashable | None, render: Callable[[], tuple[str, object]]) -> tuple[Markup, object]:
        """The article remembered under ``key`` (with this request's CSRF token) and its
        value, else ``render()``'s, remembered. ``key`` ``None``: rendered, not remembered."""
        if key is None:
            article, value = render()
            return Markup(article), value
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < SECONDS:
                self._entries.move_to_end(key)
            else:
                found = None
        if found is not None:
            return Markup(found[1].replace(self._token_mark, generate_csrf())), found[2]
        article, value = render()
        kept = article.replace(generate_csrf(), self._token_mark)
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._characters -= len(replaced[1])
            self._entries[key] = (now, kept, value)
            self._characters += len(kept)
            while self._entries and (len(self._entries) > ENTRIES or self._characters > MAX_CHARACTERS):
                _key, (_at, dropped, _value) = self._entries.popitem(last=False)
                self._characters -= len(dropped)
        return Markup(article), value


def article_cache() -> ArticleCache:
    """The current app's cache (made at its first use)."""
    extensions = current_app.extensions
    cache = extensions.get(_EXTENSION_KEY)
    if cache is None:
        cache = extensions.setdefault(_EXTENSION_KEY, ArticleCache())
    return cache
