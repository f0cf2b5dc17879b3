"""v2_hosted: the hosting portal to import from and the mailboxes imported (issue 12, point 1)."""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin import UtcDateTime

revision = "v2_hosted_0002"
down_revision = "v2_hosted_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "v2_hosted_portal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("token_secret", sa.Text(), nullable=False),
        sa.Column("token_hint", sa.String(20), nullable=False),
        sa.Column("saved_by", sa.String(200), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_v2_hosted_portal"),
    )
    op.create_table(
        "v2_hosted_portal_mailbox",
        sa.Column("portal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(254), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.Column("gone_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("portal_id", name="pk_v2_hosted_portal_mailbox"),
        sa.UniqueConstraint("mailbox_id", name="uq_v2_hosted_portal_mailbox_mailbox_id"),
    )


def downgrade():
    op.drop_table("v2_hosted_portal_mailbox")
    op.drop_table("v2_hosted_portal")
