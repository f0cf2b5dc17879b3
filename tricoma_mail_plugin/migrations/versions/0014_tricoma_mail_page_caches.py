"""tricoma mail: versions of tags, record links, notices, mailboxes and folders for what pages remember

Revision ID: tricoma_mail_0014_page_caches
Revises: tricoma_mail_0012_cache_versions, tricoma_mail_0012_tags, tricoma_mail_0012_notices and the
    migrations that alter the mailbox table (on SQLite a batch alter makes the table anew, without
    its triggers: a later one must create them again)
Create Date: 2026-12-06

Six more kinds in ``tricoma_mail_cache_version`` (``tricoma_mail_plugin/cache_versions.py``), moved
by triggers like the first three: ``tags`` (a mailbox's named tags), ``links`` (mails linked to
records), ``notices``, ``mailboxes`` (the columns the navigation shows), ``folders`` (a mailbox's
folder tree without its counts) and ``unread`` (the folders' unread counts). Updates of the mailbox
and folder tables count only when they set one of the watched columns: a sync writes its
bookkeeping on every pass.
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0014_page_caches"
down_revision = ("tricoma_mail_0012_cache_versions", "tricoma_mail_0012_tags", "tricoma_mail_0012_notices",
                 "tricoma_mail_0012_oauth", "tricoma_mail_0012_sender", "tricoma_mail_0012_sieve")
branch_labels = None
depends_on = None

TABLE = "tricoma_mail_cache_version"
#: kind -> (table, the columns whose updates count; None: every update)
WATCHED = {
    "tags": ("tricoma_mail_tag", None),
    "links": ("tricoma_mail_record_link", None),
    "notices": ("tricoma_mail_notice", None),
    "mailboxes": ("tricoma_mail_mailbox", ("title", "email", "kind", "sender_name", "folder_roles",
                                           "last_test_ok", "deleted_at")),
    "folders": ("tricoma_mail_folder", ("name", "delimiter", "flags", "special_use")),
    "unread": ("tricoma_mail_folder", ("name", "unseen")),
}


def _trigger(kind: str, table: str) -> str:
    return f"{table}_{kind}_version"


def upgrade():
    versions = sa.table(TABLE, sa.column("name"), sa.column("value"))
    op.bulk_insert(versions, [{"name": kind, "value": secrets.randbelow(2**53)} for kind in WATCHED])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for kind, (table, columns) in WATCHED.items():
        update = "UPDATE" + (f" OF {', '.join(columns)}" if columns else "")
        if postgresql:
            # tricoma_mail_bump_cache_version() comes with tricoma_mail_0012_cache_versions
            op.execute(f"CREATE TRIGGER {_trigger(kind, table)} AFTER INSERT OR DELETE OR TRUNCATE OR {update} "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION tricoma_mail_bump_cache_version('{kind}')")
            continue
        for event in ("INSERT", "DELETE", update):
            op.execute(f"CREATE TRIGGER {_trigger(kind, table)}_{event.split()[0].lower()} AFTER {event} ON {table} "
                       f"BEGIN UPDATE {TABLE} SET value = value + 1 + abs(random() % 1000000000) "
                       f"WHERE name = '{kind}'; END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for kind, (table, _columns) in WATCHED.items():
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {_trigger(kind, table)} ON {table}")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger(kind, table)}_{event}")
    op.execute(sa.text(f"DELETE FROM {TABLE} WHERE name IN ({', '.join(repr(kind) for kind in WATCHED)})"))
