"""tricoma mail: a user's notices (mentioned in a note, assigned a conversation)

Revision ID: tricoma_mail_0012_notices
Revises: tricoma_mail_0011
Create Date: 2026-12-05

Each notice keeps a msgid and its values, not a rendered text: it is translated when shown, in
the reader's language. A notice about a mailbox names it, and shows only while its reader may read
that mailbox.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_notices"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text_key", sa.String(length=500), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=True),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_notice"),
    )
    op.create_index("ix_tricoma_mail_notice_user_read", "tricoma_mail_notice", ["user_id", "read_at", "id"])


def downgrade():
    op.drop_index("ix_tricoma_mail_notice_user_read", table_name="tricoma_mail_notice")
    op.drop_table("tricoma_mail_notice")
