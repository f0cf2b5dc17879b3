"""tricoma mail: the GoBD archive (journal with hash chain, stored bytes, search text, retention,
legal holds, purge runs, auditors) and the triggers that keep it append-only

Revision ID: tricoma_mail_0012_archive
Revises: tricoma_mail_0011
Create Date: 2026-12-04

See docs/archive.md and tricoma_mail_plugin/archive/guard.py.
"""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin.archive.guard import install_guard, remove_guard

revision = "tricoma_mail_0012_archive"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def _moment(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "tricoma_mail_archive_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        _moment("archived_at"),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("mailbox_address", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_archive_entry")),
        sa.UniqueConstraint("mailbox_id", "sha256", name="uq_tricoma_mail_archive_entry_mailbox_sha256"),
        sa.UniqueConstraint("prev_hash", name="uq_tricoma_mail_archive_entry_prev_hash"),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_tricoma_mail_archive_entry_entry_hash")),
    )
    op.create_index(op.f("ix_tricoma_mail_archive_entry_message_id"), "tricoma_mail_archive_entry", ["message_id"])
    op.create_index(op.f("ix_tricoma_mail_archive_entry_sha256"), "tricoma_mail_archive_entry", ["sha256"])
    op.create_table(
        "tricoma_mail_archive_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_tricoma_mail_archive_blob")),
    )
    op.create_table(
        "tricoma_mail_archive_text",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        _moment("sent_at", nullable=True),
        sa.Column("words", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["tricoma_mail_archive_entry.id"],
                                name="fk_tricoma_mail_archive_text_entry"),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_tricoma_mail_archive_text")),
    )
    op.create_table(
        "tricoma_mail_archive_purge_run",
        sa.Column("id", sa.Integer(), nullable=False),
        _moment("at"),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_archive_purge_run")),
    )
    op.create_table(
        "tricoma_mail_archive_purge",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        _moment("retained_until"),
        sa.ForeignKeyConstraint(["entry_id"], ["tricoma_mail_archive_entry.id"],
                                name="fk_tricoma_mail_archive_purge_entry"),
        sa.ForeignKeyConstraint(["run_id"], ["tricoma_mail_archive_purge_run.id"],
                                name="fk_tricoma_mail_archive_purge_run"),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_tricoma_mail_archive_purge")),
    )
    op.create_index(op.f("ix_tricoma_mail_archive_purge_run_id"), "tricoma_mail_archive_purge", ["run_id"])
    op.create_table(
        "tricoma_mail_archive_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _moment("created_at"),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        _moment("released_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_archive_hold")),
    )
    op.create_table(
        "tricoma_mail_archive_retention",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", name=op.f("pk_tricoma_mail_archive_retention")),
    )
    op.create_table(
        "tricoma_mail_archive_auditor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_type", sa.String(length=10), nullable=False),
        sa.Column("principal_id", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        _moment("granted_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_archive_auditor")),
        sa.UniqueConstraint("principal_type", "principal_id", name="uq_tricoma_mail_archive_auditor_principal"),
    )
    op.create_table(
        "tricoma_mail_archive_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appends", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_archive_lock")),
    )
    install_guard(op.get_bind())


def downgrade():
    remove_guard(op.get_bind())
    for table in ("tricoma_mail_archive_lock", "tricoma_mail_archive_auditor", "tricoma_mail_archive_retention",
                  "tricoma_mail_archive_hold", "tricoma_mail_archive_purge", "tricoma_mail_archive_purge_run",
                  "tricoma_mail_archive_text", "tricoma_mail_archive_blob", "tricoma_mail_archive_entry"):
        op.drop_table(table)
