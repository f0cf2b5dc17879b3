"""The event stream of one open v2 page (server-sent events, the HTML standard's
``text/event-stream``).

Every quarter second it looks at two things in the database: the mailbox's folder counts (any
sync in any process changes them) and the change feed the push engine writes (flag changes
that move no count). When either moved, it sends one ``folders`` event with the counts and the
kinds of change; the page then reloads its list. The unread counts of the host's navigation (every
mailbox's INBOX and the unified inbox, "Alle Posteingänge") come as a ``navigation`` event, looked
at when this mailbox's counts moved and every second otherwise (another mailbox's mail changes
them too), sent when one changed. A comment line every 15 s keeps proxies from
closing the connection; after ``seconds`` the stream ends and the browser's EventSource
reconnects by itself, so no request holds a worker forever.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from tricoma_mail_plugin import cached_folders, db_session

from .change_feed import changes_after, last_change_id
from .client_values import folder_values

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
NAVIGATION_SECONDS = 1.0

#: → the badges of the host's navigation: [[link URL, unread count], …]
Navigation = Callable[[], list[list]]


def event_stream(mailbox, seconds: float, navigation: Navigation | None = None) -> Iterator[str]:
    mailbox_id = mailbox.id
    cursor = last_change_id(mailbox_id)
    counts = _counts(mailbox)
    badges = navigation() if navigation else None
    db_session().rollback()  # end the read transaction: the next look sees new commits
    yield "retry: 1000\n\n"
    yield _event("folders", {"folders": counts, "changes": []})
    if badges is not None:
        yield _event("navigation", {"badges": badges})
    started = last_sent = badges_asked = time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(POLL_SECONDS)
        session = db_session()
        try:
            found = changes_after(mailbox_id, cursor)
            now_counts = _counts(mailbox)
            moved = bool(found) or now_counts != counts
            now_badges = None
            if navigation and (moved or time.monotonic() - badges_asked >= NAVIGATION_SECONDS):
                badges_asked = time.monotonic()
                now_badges = navigation()
        finally:
            session.rollback()
        if moved:
            cursor = found[-1].id if found else cursor
            counts = now_counts
            last_sent = time.monotonic()
            yield _event("folders", {"folders": counts, "changes": sorted({c.kind for c in found})})
        if now_badges is not None and now_badges != badges:
            badges = now_badges
            last_sent = time.monotonic()
            yield _event("navigation", {"badges": badges})
        elif not moved and time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            last_sent = time.monotonic()
            yield ": still here\n\n"


def _counts(mailbox) -> list[dict]:
    return folder_values(mailbox, cached_folders(mailbox))


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
