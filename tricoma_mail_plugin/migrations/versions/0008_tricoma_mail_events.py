"""tricoma mail: the event outbox

Revision ID: tricoma_mail_0008
Revises: tricoma_mail_0007
Create Date: 2026-12-04

Events (received, sent, failed, uncertain, deleted, moved, flags changed) are written in the
transaction of the change that causes them and delivered to the plugins' hooks after the commit.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0008"
down_revision = "tricoma_mail_0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_event")),
    )
    op.create_index("ix_tricoma_mail_event_pending", "tricoma_mail_event", ["delivered_at", "id"])


def downgrade():
    op.drop_index("ix_tricoma_mail_event_pending", "tricoma_mail_event")
    op.drop_table("tricoma_mail_event")
