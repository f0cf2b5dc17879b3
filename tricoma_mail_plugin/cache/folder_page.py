"""What a folder page and the reading page need of the cached folders, in one query: the folder
tree's values and the sync progress of the mailbox (what ``sync.cached_folders`` and
``sync.sync_progress`` give in two)."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from .._state import mail_state
from ..mailboxes.folders import Folder
from ..models import CachedFolder, Mailbox, utcnow
from .sync import SyncProgress

# Built once (every folder page and reading page asks): building costs more than running it.
_FOLDERS = (select(CachedFolder.name, CachedFolder.delimiter, CachedFolder.flags, CachedFolder.special_use,
                   CachedFolder.messages, CachedFolder.unseen, CachedFolder.server_messages)
            .where(CachedFolder.mailbox_id == bindparam("mailbox_id")).order_by(CachedFolder.name))


def folders_and_progress(mailbox: Mailbox) -> tuple[list[Folder], SyncProgress]:
    rows = mail_state().db.session.execute(_FOLDERS, {"mailbox_id": mailbox.id}).all()
    folders = [Folder(name, delimiter, tuple(flags or ()), special_use, messages, unseen)
               for name, delimiter, flags, special_use, messages, unseen, _server in rows]
    cached = sum(row.messages or 0 for row in rows)
    on_server = sum((row.server_messages if row.server_messages is not None else row.messages) or 0 for row in rows)
    lease = mailbox.sync_lease_until
    return folders, SyncProgress(cached, on_server, bool(lease and lease > utcnow()),
                                 never_synced=not rows or mailbox.last_sync_at is None)
