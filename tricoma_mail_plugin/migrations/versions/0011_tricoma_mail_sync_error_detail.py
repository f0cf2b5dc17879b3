"""tricoma mail: the raw detail of a mailbox's last sync error, for admins

Revision ID: tricoma_mail_0011
Revises: tricoma_mail_0010
Create Date: 2026-12-04

Users read a typed message ("the connection was lost while …"); the library's own words stay
beside it for the admins on the mailbox page.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0011"
down_revision = "tricoma_mail_0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.add_column(sa.Column("last_sync_detail", sa.String(length=1000), nullable=True))


def downgrade():
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.drop_column("last_sync_detail")
