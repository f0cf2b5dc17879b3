"""tricoma mail: internal notes on team conversations, reply templates and quick replies

Revision ID: tricoma_mail_0013_notes
Revises: tricoma_mail_0012_team
Create Date: 2026-12-05

A note belongs to a team thread (a conversation keyed by its Message-IDs), so it stays with the
conversation through resyncs and moves; it lives only in this database, never on the mail
server. A reply template belongs to a mailbox or to one user.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0013_notes"
down_revision = "tricoma_mail_0012_team"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_team_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["tricoma_mail_team_thread.id"], ondelete="CASCADE",
                                name="fk_tricoma_mail_team_note_thread_id"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_team_note"),
    )
    op.create_index("ix_tricoma_mail_team_note_thread_id", "tricoma_mail_team_note", ["thread_id", "id"])
    op.create_table(
        "tricoma_mail_reply_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["mailbox_id"], ["tricoma_mail_mailbox.id"], ondelete="CASCADE",
                                name="fk_tricoma_mail_reply_template_mailbox_id"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_reply_template"),
    )
    op.create_index("ix_tricoma_mail_reply_template_mailbox_id", "tricoma_mail_reply_template", ["mailbox_id"])
    op.create_index("ix_tricoma_mail_reply_template_owner_id", "tricoma_mail_reply_template", ["owner_id"])


def downgrade():
    op.drop_table("tricoma_mail_reply_template")
    op.drop_table("tricoma_mail_team_note")
