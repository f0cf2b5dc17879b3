"""tricoma mail: plugin state and plugin failures

Revision ID: tricoma_mail_0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0001"
down_revision = None
branch_labels = ("tricoma_mail",)
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_plugin_state",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_tricoma_mail_plugin_state"),
    )
    op.create_table(
        "tricoma_mail_plugin_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(200), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_plugin_failure"),
    )
    op.create_index(
        "ix_tricoma_mail_plugin_failure_plugin", "tricoma_mail_plugin_failure", ["plugin"]
    )


def downgrade():
    op.drop_index("ix_tricoma_mail_plugin_failure_plugin", "tricoma_mail_plugin_failure")
    op.drop_table("tricoma_mail_plugin_failure")
    op.drop_table("tricoma_mail_plugin_state")
