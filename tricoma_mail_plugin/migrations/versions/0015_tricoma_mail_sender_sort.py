"""tricoma mail: the name a list sorts a cached message by when it sorts by sender

Revision ID: tricoma_mail_0015_sender_sort
Revises: tricoma_mail_0014_page_caches
Create Date: 2026-12-08

Sorting by the raw From text put quoted names (``"Zoe" <z@x>``) first and upper case before lower
case. ``sender_sort`` holds the shown name (display name, else address) case- and accent-folded
(``mime.headers.sender_sort_key``); the sync writes it with every message it caches, and this
migration fills it for the messages cached before. A plain ``ADD COLUMN`` (not a batch alter):
SQLite keeps the table as it is, whatever its size.
"""
import sqlalchemy as sa
from alembic import op

from tricoma_mail_plugin.mime.headers import sender_sort_key

revision = "tricoma_mail_0015_sender_sort"
down_revision = "tricoma_mail_0014_page_caches"
branch_labels = None
depends_on = None

TABLE = "tricoma_mail_message"
BATCH = 5000


def upgrade():
    op.add_column(TABLE, sa.Column("sender_sort", sa.String(length=200), nullable=False, server_default=""))
    messages = sa.table(TABLE, sa.column("id", sa.Integer), sa.column("from_addr", sa.Text),
                        sa.column("sender_sort", sa.String))
    fill = sa.update(messages).where(messages.c.id == sa.bindparam("pk")).values(sender_sort=sa.bindparam("key"))
    connection = op.get_bind()
    last = 0
    while True:  # by id, a batch at a time: a big cache is never held in memory at once
        rows = connection.execute(sa.select(messages.c.id, messages.c.from_addr).where(messages.c.id > last)
                                  .order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            break
        keys = [{"pk": pk, "key": key} for pk, from_addr in rows if (key := sender_sort_key(from_addr or ""))]
        if keys:
            connection.execute(fill, keys)
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("sender_sort")
