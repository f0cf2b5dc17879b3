"""tricoma mail: tags of a mailbox (IMAP keywords with a name and a colour)

Revision ID: tricoma_mail_0012_tags
Revises: tricoma_mail_0011
Create Date: 2026-12-05

The tags themselves live on the mail server as keywords; this table only names and colours them
per mailbox (Thunderbird's $label1 … $label5 are added when a mailbox's tags are first asked for).
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_tags"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["tricoma_mail_mailbox.id"],
                                name="fk_tricoma_mail_tag_mailbox_id_tricoma_mail_mailbox", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_tag"),
        sa.UniqueConstraint("mailbox_id", "keyword", name="uq_tricoma_mail_tag_keyword"),
    )
    op.create_index("ix_tricoma_mail_tag_mailbox_id", "tricoma_mail_tag", ["mailbox_id"])


def downgrade():
    op.drop_index("ix_tricoma_mail_tag_mailbox_id", table_name="tricoma_mail_tag")
    op.drop_table("tricoma_mail_tag")
