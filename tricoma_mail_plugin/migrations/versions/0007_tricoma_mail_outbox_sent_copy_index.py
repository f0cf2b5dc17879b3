"""tricoma mail: index for finding Sent copies still to file

Revision ID: tricoma_mail_0007
Revises: tricoma_mail_0006
Create Date: 2026-12-01

Without it, looking for the next pending Sent copy read every sent item (and, on SQLite, walked
the overflow pages of their message bytes): slower with each mail ever sent.
"""
from alembic import op

revision = "tricoma_mail_0007"
down_revision = "tricoma_mail_0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tricoma_mail_outbox_sent_copy", "tricoma_mail_outbox", ["state", "sent_copy", "id"])


def downgrade():
    op.drop_index("ix_tricoma_mail_outbox_sent_copy", "tricoma_mail_outbox")
