"""Mail entering through sync: its summaries for the cache and, in the same FETCH, its full
bytes for the journal (the cache itself keeps no bodies; they are fetched on demand later,
when the mail may already be gone)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ..models import CachedFolder, Mailbox
from .._state import concurrent_writers
from .journal import Arrival, archive_alongside, archive_started, journal_enabled


def journals_folder(folder: CachedFolder) -> bool:
    """Whether mail synced into ``folder`` is journaled (so its full bytes are fetched with the
    summaries). Drafts are not letters yet: their folder is not journaled."""
    return journal_enabled() and (folder.special_use or "").lower() != "\\drafts"


def archive_synced(mailbox: Mailbox, folder: CachedFolder, raws: Sequence[bytes | None]) -> Callable[[], None]:
    """Archive the full bytes of mail a sync fetched into ``folder``. The returned call finishes
    the write: the caller makes it before it commits its batch.

    On SQLite the entries go into the caller's transaction (committed with the sync's
    checkpoint, or rolled back with it) and the returned call stores the bytes, compressed
    meanwhile. Where two transactions write at once (PostgreSQL) the journal commits in a
    transaction of its own while the caller writes its rows, and the returned call waits for
    that commit: the entries are committed before the batch, never after it."""
    direction = "out" if (folder.special_use or "").lower() == "\\sent" else "in"
    arrival = Arrival(mailbox.id, mailbox.email or mailbox.imap_username or "", folder.name, direction, "sync")
    fetched = [raw for raw in raws if raw is not None]
    if concurrent_writers():
        return archive_alongside(arrival, fetched)
    return archive_started(arrival, fetched)[1]
