"""tricoma mail: how far each send attempt got, and its history

Revision ID: tricoma_mail_0009
Revises: tricoma_mail_0008
Create Date: 2026-12-04

A worker that dies while connecting, in TLS, in AUTH or before the final dot left its item
"uncertain" although the server never accepted it. The stage of the attempt under way is now
recorded before the connection, before DATA and just before the final dot; one history line is
kept per attempt; an uncertain item can wait for a look into the Sent folder.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0009"
down_revision = "tricoma_mail_0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tricoma_mail_outbox") as batch:
        batch.add_column(sa.Column("attempt_stage", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("attempt_stage_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempt_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempt_history", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("uncertain_checks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("uncertain_check_after", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("tricoma_mail_outbox") as batch:
        for column in ("uncertain_check_after", "uncertain_checks", "attempt_history", "attempt_started_at",
                       "attempt_stage_at", "attempt_stage"):
            batch.drop_column(column)
