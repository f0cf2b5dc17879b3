"""tricoma mail: team mail in shared mailboxes (conversations keyed by Message-ID, assignee,
status, snooze, who is answering, follow-up reminders)

Revision ID: tricoma_mail_0012_team
Revises: tricoma_mail_0011
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_team"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def _when(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "tricoma_mail_team_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
        sa.Column("assignee_id", sa.String(length=200), nullable=True),
        sa.Column("assigned_by", sa.String(length=200), nullable=True),
        _when("assigned_at"),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_by", sa.String(length=200), nullable=True),
        _when("status_at"),
        _when("snoozed_until"),
        sa.Column("snoozed_by", sa.String(length=200), nullable=True),
        _when("returned_at"),
        sa.Column("replied_by", sa.String(length=200), nullable=True),
        _when("replied_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_team_thread"),
    )
    op.create_index("ix_tricoma_mail_team_thread_mailbox_assignee", "tricoma_mail_team_thread",
                    ["mailbox_id", "assignee_id"])
    op.create_index("ix_tricoma_mail_team_thread_snoozed_until", "tricoma_mail_team_thread", ["snoozed_until"])
    op.create_table(
        "tricoma_mail_team_thread_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["tricoma_mail_team_thread.id"], ondelete="CASCADE",
                                name="fk_tricoma_mail_team_thread_message_thread"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_team_thread_message"),
        sa.UniqueConstraint("mailbox_id", "message_id", name="uq_tricoma_mail_team_thread_message_mailbox_id"),
    )
    op.create_index("ix_tricoma_mail_team_thread_message_thread_id", "tricoma_mail_team_thread_message", ["thread_id"])
    op.create_table(
        "tricoma_mail_team_presence",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        _when("started_at", False),
        _when("seen_at", False),
        sa.ForeignKeyConstraint(["thread_id"], ["tricoma_mail_team_thread.id"], ondelete="CASCADE",
                                name="fk_tricoma_mail_team_presence_thread"),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name="pk_tricoma_mail_team_presence"),
    )
    op.create_table(
        "tricoma_mail_team_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        _when("created_at", False),
        _when("due_at", False),
        sa.Column("state", sa.String(length=10), nullable=False),
        _when("settled_at"),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("known_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["tricoma_mail_team_thread.id"], ondelete="CASCADE",
                                name="fk_tricoma_mail_team_reminder_thread"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_team_reminder"),
    )
    op.create_index("ix_tricoma_mail_team_reminder_state_due", "tricoma_mail_team_reminder", ["state", "due_at"])
    op.create_index("ix_tricoma_mail_team_reminder_thread_id", "tricoma_mail_team_reminder", ["thread_id"])


def downgrade():
    op.drop_table("tricoma_mail_team_reminder")
    op.drop_table("tricoma_mail_team_presence")
    op.drop_table("tricoma_mail_team_thread_message")
    op.drop_table("tricoma_mail_team_thread")
