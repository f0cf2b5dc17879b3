"""tricoma mail: bulk-mail hygiene (issue 16): opt-outs of one-click unsubscribe, and a send
rate per mailbox

Revision ID: tricoma_mail_0012_sender
Revises: tricoma_mail_0011
Create Date: 2026-12-04

Apps that send to many recipients add ``List-Unsubscribe`` (RFC 8058); a recipient's click is
kept here and honoured by later sends. A mailbox may limit how many mails leave per hour; more
wait in the outbox instead of being refused by the provider.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_sender"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("list_key", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["tricoma_mail_mailbox.id"], ondelete="CASCADE",
                                name="fk_tricoma_mail_opt_out_mailbox_id_tricoma_mail_mailbox"),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_opt_out"),
        sa.UniqueConstraint("mailbox_id", "list_key", "address",
                            name="uq_tricoma_mail_opt_out_mailbox_id_list_key_address"),
    )
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.add_column(sa.Column("send_rate_per_hour", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.drop_column("send_rate_per_hour")
    op.drop_table("tricoma_mail_opt_out")
