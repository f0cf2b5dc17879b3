"""The first Alembic migration of a record kind's tables, for the app's ``migrations/versions``.

It writes the tables exactly as ``tables.record_tables`` declares them. Its arguments are spelled
out in the app's migration file rather than read from the kind, so that a later change of the
declaration never changes what an old migration did: that change gets a migration of its own.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op


def record_tables_migration(plural: str, name: str, dates: tuple[str, str]
                            ) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(upgrade, downgrade)`` creating and dropping the customer, record, line and mail
    template tables of the kind ``name``/``plural`` with the date columns ``dates``."""
    customer, record, line, template = (f"{plural}_customer", f"{plural}_{name}", f"{plural}_line",
                                        f"{plural}_mail_template")
    line_key = f"{name}_id"

    def upgrade() -> None:
        op.create_table(
            customer,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("email", sa.String(254), nullable=True),
            sa.Column("address", sa.Text(), nullable=False),
            sa.Column("language", sa.String(8), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{customer}"),
        )
        op.create_table(
            record,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("number", sa.String(20), nullable=False),
            sa.Column("customer_id", sa.Integer(), nullable=False),
            *(sa.Column(column, sa.Date(), nullable=False) for column in dates),
            sa.Column("state", sa.String(10), nullable=False),
            sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["customer_id"], [f"{customer}.id"],
                                    name=f"fk_{record}_customer_id_{customer}"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{record}"),
            sa.UniqueConstraint("number", name=f"uq_{record}_number"),
        )
        op.create_index(f"ix_{record}_customer_id", record, ["customer_id"])
        op.create_table(
            line,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column(line_key, sa.Integer(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("description", sa.String(500), nullable=False),
            sa.Column("quantity_hundredths", sa.Integer(), nullable=False),
            sa.Column("unit_price_cents", sa.Integer(), nullable=False),
            sa.Column("tax_rate_hundredths", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint([line_key], [f"{record}.id"], ondelete="CASCADE",
                                    name=f"fk_{line}_{line_key}_{record}"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{line}"),
        )
        op.create_index(f"ix_{line}_{line_key}", line, [line_key])
        op.create_table(
            template,
            sa.Column("language", sa.String(8), nullable=False),
            sa.Column("subject", sa.Text(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_by", sa.String(200), nullable=True),
            sa.PrimaryKeyConstraint("language", name=f"pk_{template}"),
        )

    def downgrade() -> None:
        op.drop_table(template)
        op.drop_index(f"ix_{line}_{line_key}", table_name=line)
        op.drop_table(line)
        op.drop_index(f"ix_{record}_customer_id", table_name=record)
        op.drop_table(record)
        op.drop_table(customer)

    return upgrade, downgrade
