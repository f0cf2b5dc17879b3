"""v2_hosted: one watcher holds the IDLE connections, however many processes start one."""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin import UtcDateTime

revision = "v2_hosted_0006"
down_revision = "v2_hosted_0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "v2_hosted_push_leader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("until", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_v2_hosted_push_leader"),
    )


def downgrade():
    op.drop_table("v2_hosted_push_leader")
