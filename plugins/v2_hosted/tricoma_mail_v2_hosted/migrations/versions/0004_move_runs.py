"""v2_hosted: moves started on the "Move a mailbox" page, run as background jobs, with their progress."""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin import UtcDateTime

revision = "v2_hosted_0004"
down_revision = "v2_hosted_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "v2_hosted_move_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("job_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("copied", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(1000), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_v2_hosted_move_run"),
        sa.UniqueConstraint("job_key", name="uq_v2_hosted_move_run_job_key"),
    )
    op.create_index("ix_v2_hosted_move_run_pair", "v2_hosted_move_run", ["source_id", "target_id", "id"])


def downgrade():
    op.drop_index("ix_v2_hosted_move_run_pair", table_name="v2_hosted_move_run")
    op.drop_table("v2_hosted_move_run")
