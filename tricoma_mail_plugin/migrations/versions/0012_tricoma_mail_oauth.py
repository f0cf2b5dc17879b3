"""tricoma mail: OAuth2 sign-in for mailboxes (issue 13)

Revision ID: tricoma_mail_0012_oauth
Revises: tricoma_mail_0011
Create Date: 2026-12-04

Admins set up OAuth2 providers (Microsoft Entra ID, Google, any standards-compliant server); a
mailbox logs in with a password, with a user's delegated sign-in or as an app (client
credentials). Tokens live encrypted in the mailbox's ``secrets``; ``needs_sign_in_at`` marks a
mailbox whose provider refused to refresh its token.
"""
import sqlalchemy as sa
from alembic import op

revision = "tricoma_mail_0012_oauth"
down_revision = "tricoma_mail_0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tricoma_mail_oauth_provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=300), nullable=False),
        sa.Column("authority", sa.String(length=500), nullable=False),
        sa.Column("authorize_url", sa.String(length=500), nullable=False),
        sa.Column("token_url", sa.String(length=500), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("app_scopes", sa.Text(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tricoma_mail_oauth_provider"),
    )
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.add_column(sa.Column("auth_kind", sa.String(length=20), nullable=False, server_default="password"))
        batch.add_column(sa.Column("oauth_provider_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("needs_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_tricoma_mail_mailbox_oauth_provider",
                                 "tricoma_mail_oauth_provider", ["oauth_provider_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("tricoma_mail_mailbox") as batch:
        batch.drop_constraint("fk_tricoma_mail_mailbox_oauth_provider",
                              type_="foreignkey")
        batch.drop_column("needs_sign_in_at")
        batch.drop_column("oauth_provider_id")
        batch.drop_column("auth_kind")
    op.drop_table("tricoma_mail_oauth_provider")
