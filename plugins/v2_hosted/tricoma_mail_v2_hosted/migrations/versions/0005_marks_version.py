"""v2_hosted: a version of the v2 marks, so each page asks it instead of the marked mailboxes.

Every page's navigation asks which client each mailbox opens in (``marks.py``). Core's triggers
move the kind ``v2_hosted_marks`` in every transaction that writes ``v2_hosted_mailbox``, whoever
writes (the CLI, the portal import, plain SQL), and each web process keeps the marks until it
moves (core's ``add_cache_kind``).
"""
from alembic import op

from tricoma_mail_plugin import add_cache_kind, drop_cache_kind

revision = "v2_hosted_0005"
down_revision = "v2_hosted_0004"
branch_labels = None
depends_on = "tricoma_mail_0012_cache_versions"  # the versions table and its trigger function

KIND, TABLES = "v2_hosted_marks", ("v2_hosted_mailbox",)


def upgrade():
    add_cache_kind(op, KIND, TABLES)


def downgrade():
    drop_cache_kind(op, KIND, TABLES)
