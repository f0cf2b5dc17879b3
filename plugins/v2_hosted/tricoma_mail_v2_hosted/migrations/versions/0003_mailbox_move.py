"""v2_hosted: progress of moving an external mailbox into a hosted one (issue 12, point 5)."""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin import UtcDateTime

revision = "v2_hosted_0003"
down_revision = "v2_hosted_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "v2_hosted_move_progress",
        sa.Column("source_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("target_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source_folder", sa.String(1000), nullable=False),
        sa.Column("target_folder", sa.String(1000), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("copied", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "target_id", "source_folder", name="pk_v2_hosted_move_progress"),
    )


def downgrade():
    op.drop_table("v2_hosted_move_progress")
