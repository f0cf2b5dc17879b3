"""hostapp: server-side login sessions; the throttle remembers its last failure

Revision ID: hostapp_0002
Revises: hostapp_0001
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "hostapp_0002"
down_revision = "hostapp_0001"
branch_labels = None
depends_on = None


def upgrade():
    # Old rows have no time of their last failure: they would never expire, and their keys
    # (plain user names) are not the new ones. Nobody loses more than a wait.
    op.execute("DELETE FROM hostapp_login_throttle")
    with op.batch_alter_table("hostapp_login_throttle") as batch:
        batch.add_column(sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_hostapp_login_throttle_last_failure_at", ["last_failure_at"])
    op.create_table(
        "hostapp_login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hostapp_user.id"], ondelete="CASCADE",
            name="fk_hostapp_login_session_user_id_hostapp_user",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hostapp_login_session"),
        sa.UniqueConstraint("token_hash", name="uq_hostapp_login_session_token_hash"),
    )
    op.create_index("ix_hostapp_login_session_user_id", "hostapp_login_session", ["user_id"])


def downgrade():
    op.drop_index("ix_hostapp_login_session_user_id", table_name="hostapp_login_session")
    op.drop_table("hostapp_login_session")
    with op.batch_alter_table("hostapp_login_throttle") as batch:
        batch.drop_index("ix_hostapp_login_throttle_last_failure_at")
        batch.drop_column("last_failure_at")
