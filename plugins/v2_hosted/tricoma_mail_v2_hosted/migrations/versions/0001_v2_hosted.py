"""v2_hosted: v2 mailboxes, layout preferences, the change feed (as first created, 2026-12-04)."""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin import UtcDateTime

revision = "v2_hosted_0001"
down_revision = None
branch_labels = ("v2_hosted",)
depends_on = None


def upgrade():
    op.create_table(
        "v2_hosted_mailbox",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("marked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", name="pk_v2_hosted_mailbox"),
    )
    op.create_table(
        "v2_hosted_preference",
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_v2_hosted_preference"),
    )
    op.create_table(
        "v2_hosted_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(1000), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_v2_hosted_change"),
    )
    op.create_index("ix_v2_hosted_change_mailbox", "v2_hosted_change", ["mailbox_id", "id"])


def downgrade():
    op.drop_index("ix_v2_hosted_change_mailbox", "v2_hosted_change")
    op.drop_table("v2_hosted_change")
    op.drop_table("v2_hosted_preference")
    op.drop_table("v2_hosted_mailbox")
