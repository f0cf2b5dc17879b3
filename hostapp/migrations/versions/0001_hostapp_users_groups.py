"""hostapp: users, groups, login throttle

Revision ID: hostapp_0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "hostapp_0001"
down_revision = None
branch_labels = ("hostapp",)
depends_on = None


def upgrade():
    op.create_table(
        "hostapp_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hostapp_user"),
        sa.UniqueConstraint("username", name="uq_hostapp_user_username"),
    )
    op.create_table(
        "hostapp_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hostapp_group"),
        sa.UniqueConstraint("name", name="uq_hostapp_group_name"),
    )
    op.create_table(
        "hostapp_group_member",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["hostapp_group.id"], ondelete="CASCADE",
            name="fk_hostapp_group_member_group_id_hostapp_group",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hostapp_user.id"], ondelete="CASCADE",
            name="fk_hostapp_group_member_user_id_hostapp_user",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_hostapp_group_member"),
    )
    op.create_table(
        "hostapp_login_throttle",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_hostapp_login_throttle"),
    )


def downgrade():
    op.drop_table("hostapp_login_throttle")
    op.drop_table("hostapp_group_member")
    op.drop_table("hostapp_group")
    op.drop_table("hostapp_user")
