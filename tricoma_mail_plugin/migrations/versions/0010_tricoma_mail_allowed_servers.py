"""tricoma mail: the admin's allow list of mail server addresses; the audit by actor

Revision ID: tricoma_mail_0010
Revises: tricoma_mail_0009
Create Date: 2026-12-04

Mailboxes connect only to public addresses and to what this list (and the config key
TRICOMA_MAIL_ALLOWED_MAIL_SERVERS) allows; see mailboxes/address_policy.py.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0010"
down_revision = "tricoma_mail_0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_allowed_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_allowed_server")),
    )
    # Counts a user's connection tests of the last hour (TRICOMA_MAIL_TESTS_PER_HOUR).
    op.create_index("ix_tricoma_mail_audit_actor_action_at", "tricoma_mail_audit", ["actor", "action", "at"])


def downgrade():
    op.drop_index("ix_tricoma_mail_audit_actor_action_at", "tricoma_mail_audit")
    op.drop_table("tricoma_mail_allowed_server")
