"""tricoma mail: the job ledger, uploads and trusted senders in the database

Revision ID: tricoma_mail_0012_scale
Revises: tricoma_mail_0011
Create Date: 2026-12-04

Several web processes on several hosts share one database: background jobs are recorded in a
ledger (once per period, visible to admins), and what a user uploads while writing a mail and
the senders whose remote images a user trusts no longer live on one host's disk or in a cookie.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_scale"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_job")),
        sa.UniqueConstraint("key", name=op.f("uq_tricoma_mail_job_key")),
    )
    op.create_index("ix_tricoma_mail_job_state", "tricoma_mail_job", ["state", "name"])
    op.create_table(
        "tricoma_mail_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_upload")),
        sa.UniqueConstraint("token", name=op.f("uq_tricoma_mail_upload_token")),
    )
    op.create_index("ix_tricoma_mail_upload_space", "tricoma_mail_upload", ["space"])
    op.create_table(
        "tricoma_mail_trusted_sender",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tricoma_mail_trusted_sender")),
        sa.UniqueConstraint("user_id", "address", name="uq_tricoma_mail_trusted_sender_user_address"),
    )


def downgrade():
    op.drop_table("tricoma_mail_trusted_sender")
    op.drop_index("ix_tricoma_mail_upload_space", "tricoma_mail_upload")
    op.drop_table("tricoma_mail_upload")
    op.drop_index("ix_tricoma_mail_job_state", "tricoma_mail_job")
    op.drop_table("tricoma_mail_job")
