"""tricoma mail: full-text index of cached message text

Revision ID: tricoma_mail_0005
Revises: tricoma_mail_0004
Create Date: 2026-12-01

SQLite gets an FTS5 table, PostgreSQL a tsvector table with a GIN index. Neither is part of the
models' metadata (see search_index.py); env.py leaves them out of comparisons.
"""
from alembic import op

revision = "tricoma_mail_0005"
down_revision = "tricoma_mail_0004"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE tricoma_mail_fts USING fts5("
            "subject, sender, recipients, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE TABLE tricoma_mail_search ("
            "message_pk INTEGER PRIMARY KEY REFERENCES tricoma_mail_message(id) ON DELETE CASCADE, "
            "document tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_tricoma_mail_search_document ON tricoma_mail_search USING gin (document)")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE tricoma_mail_fts")
    elif dialect == "postgresql":
        op.execute("DROP TABLE tricoma_mail_search")
