"""sample plugin: notes

Revision ID: sample_plugin_0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "sample_plugin_0001"
down_revision = None
branch_labels = ("sample_plugin",)
depends_on = None


def upgrade():
    op.create_table(
        "sample_plugin_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sample_plugin_note"),
    )


def downgrade():
    op.drop_table("sample_plugin_note")
