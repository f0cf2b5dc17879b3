"""tricoma mail: the ManageSieve port of a mailbox (filters and vacation)

Revision ID: tricoma_mail_0012_sieve
Revises: tricoma_mail_0011
Create Date: 2026-12-04

ManageSieve runs on the IMAP server's host with the IMAP settings' encryption; only its port
differs from server to server (None: the standard port 4190).
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_sieve"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.add_column(sa.Column("sieve_port", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.drop_column("sieve_port")
