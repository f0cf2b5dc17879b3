"""The plugin's tables (prefix ``v2_hosted_``): which mailboxes open in the v2 interface, each
user's layout choices, and the feed of changes the push engine found."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from tricoma_mail_plugin import NAMING_CONVENTION, UtcDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

v2_mailboxes = Table(
    "v2_hosted_mailbox", metadata,
    Column("mailbox_id", Integer, primary_key=True),  # core's mailbox id
    Column("source", String(20), nullable=False),  # "cli", "settings" or "portal"
    Column("marked_at", UtcDateTime(), nullable=False),
)

preferences = Table(
    "v2_hosted_preference", metadata,
    Column("user_id", String(200), primary_key=True),
    Column("values", JSON, nullable=False),
)

changes = Table(
    "v2_hosted_change", metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", Integer, nullable=False),
    Column("folder", String(1000), nullable=False),
    Column("kind", String(20), nullable=False),  # "new", "flags", "expunged", "synced"
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_v2_hosted_change_mailbox", "mailbox_id", "id"),
)

#: Which watcher holds the IDLE connections (one row, id 1): every web process of the embedded
#: default, or several ``watch`` processes, start a watcher, and only the one whose lease is live
#: watches; the others take over when it ends or stops renewing (``push/leadership.py``).
push_leader = Table(
    "v2_hosted_push_leader", metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("until", UtcDateTime(), nullable=False),
)

#: The hosting portal this installation imports its mailboxes from (one row, id 1): its URL and
#: the API token, encrypted with core's secret box; ``token_hint`` is the token's first 12
#: characters, which the portal shows too, so an admin can tell tokens apart.
portal_connection = Table(
    "v2_hosted_portal", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(500), nullable=False),
    Column("token_secret", Text, nullable=False),
    Column("token_hint", String(20), nullable=False),
    Column("saved_by", String(200), nullable=False),
    Column("saved_at", UtcDateTime(), nullable=False),
    Column("imported_at", UtcDateTime()),
)

#: Which core mailbox each portal mailbox became (the key: the portal's mailbox id), and whether
#: the portal still lists it (``gone_at``: no longer listed; the mailbox and its cache stay).
portal_mailboxes = Table(
    "v2_hosted_portal_mailbox", metadata,
    Column("portal_id", Integer, primary_key=True, autoincrement=False),
    Column("mailbox_id", Integer, nullable=False, unique=True),
    Column("login", String(254), nullable=False),
    Column("state", String(20), nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    Column("gone_at", UtcDateTime()),
)

#: How far moving one mailbox into another got, per source folder: the last source UID copied
#: (valid while the source folder keeps ``uid_validity``), so an interrupted move resumes there.
move_progress = Table(
    "v2_hosted_move_progress", metadata,
    Column("source_id", Integer, primary_key=True, autoincrement=False),
    Column("target_id", Integer, primary_key=True, autoincrement=False),
    Column("source_folder", String(1000), primary_key=True),
    Column("target_folder", String(1000), nullable=False),
    Column("uid_validity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("copied", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: One move started on the "Move a mailbox" page, run as a background job (``job_key`` in core's
#: job ledger): how far it got (messages handled of ``total``, copied or found already there),
#: the folder it works on, and how it ended. ``updated_at`` moves at least every few seconds
#: while the job runs, so a page tells a running move from one whose process died.
move_runs = Table(
    "v2_hosted_move_run", metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, nullable=False),
    Column("target_id", Integer, nullable=False),
    Column("job_key", String(200), nullable=False, unique=True),
    Column("state", String(20), nullable=False),  # "queued", "running", "done", "failed"
    Column("total", Integer),  # known once the job has looked at every source folder
    Column("handled", Integer, nullable=False),
    Column("copied", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("folder", String(1000)),
    Column("error", Text),
    Column("started_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Index("ix_v2_hosted_move_run_pair", "source_id", "target_id", "id"),
)
