"""tricoma mail: versions of what web processes remember between requests

Revision ID: tricoma_mail_0012_cache_versions
Revises: tricoma_mail_0012_archive, tricoma_mail_0012_scale (it watches tables of both)
Create Date: 2026-12-05

One row per kind (``plugins``, ``rights``, ``senders``) in ``tricoma_mail_cache_version``; triggers move a
kind's row in every transaction that writes one of its tables, whoever writes
(``tricoma_mail_plugin/cache_versions.py``). The step is random and the first value too, so no
number comes back after a rollback or a database made again.
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_cache_versions"
down_revision = ("tricoma_mail_0012_archive", "tricoma_mail_0012_scale")
branch_labels = None
depends_on = None

TABLE = "tricoma_mail_cache_version"
WATCHED = {"plugins": ("tricoma_mail_plugin_state",),
           "rights": ("tricoma_mail_grant", "tricoma_mail_archive_auditor"),
           "senders": ("tricoma_mail_trusted_sender",)}
SQLITE_EVENTS = ("insert", "update", "delete")


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tricoma_mail_cache_version")),
    )
    versions = sa.table(TABLE, sa.column("name"), sa.column("value"))
    op.bulk_insert(versions, [{"name": kind, "value": secrets.randbelow(2**53)} for kind in WATCHED])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION tricoma_mail_bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN UPDATE {TABLE} SET value = value + 1 + floor(random() * 1000000000)::bigint "
            "WHERE name = TG_ARGV[0]; RETURN NULL; END $$"
        )
        for kind, tables in WATCHED.items():
            for watched in tables:
                op.execute(
                    f"CREATE TRIGGER {watched}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    f"ON {watched} FOR EACH STATEMENT EXECUTE FUNCTION tricoma_mail_bump_cache_version('{kind}')"
                )
    else:
        for kind, tables in WATCHED.items():
            for watched in tables:
                for event in SQLITE_EVENTS:
                    op.execute(
                        f"CREATE TRIGGER {watched}_version_{event} AFTER {event.upper()} ON {watched} "
                        f"BEGIN UPDATE {TABLE} SET value = value + 1 + abs(random() % 1000000000) "
                        f"WHERE name = '{kind}'; END"
                    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for tables in WATCHED.values():
            for watched in tables:
                op.execute(f"DROP TRIGGER IF EXISTS {watched}_version ON {watched}")
        op.execute("DROP FUNCTION IF EXISTS tricoma_mail_bump_cache_version()")
    else:
        for tables in WATCHED.values():
            for watched in tables:
                for event in SQLITE_EVENTS:
                    op.execute(f"DROP TRIGGER IF EXISTS {watched}_version_{event}")
    op.drop_table(TABLE)
