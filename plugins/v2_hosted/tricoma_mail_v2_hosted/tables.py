"""The plugin's tables (prefix ``v2_hosted_``): which mailboxes open in the v2 interface, each
user's layout choices, and the feed of changes the push engine found."""
from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table

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
