"""orders: customers, orders, lines, mail templates

Revision ID: orders_0001
Revises:
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op

revision = "orders_0001"
down_revision = None
branch_labels = ("orders",)
depends_on = None


def upgrade():
    op.create_table(
        "orders_customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders_customer"),
    )
    op.create_table(
        "orders_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("ordered_on", sa.Date(), nullable=False),
        sa.Column("delivery_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["orders_customer.id"],
                                name="fk_orders_order_customer_id_orders_customer"),
        sa.PrimaryKeyConstraint("id", name="pk_orders_order"),
        sa.UniqueConstraint("number", name="uq_orders_order_number"),
    )
    op.create_index("ix_orders_order_customer_id", "orders_order", ["customer_id"])
    op.create_table(
        "orders_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("quantity_hundredths", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("tax_rate_hundredths", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders_order.id"], ondelete="CASCADE",
                                name="fk_orders_line_order_id_orders_order"),
        sa.PrimaryKeyConstraint("id", name="pk_orders_line"),
    )
    op.create_index("ix_orders_line_order_id", "orders_line", ["order_id"])
    op.create_table(
        "orders_mail_template",
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("language", name="pk_orders_mail_template"),
    )


def downgrade():
    op.drop_table("orders_mail_template")
    op.drop_index("ix_orders_line_order_id", table_name="orders_line")
    op.drop_table("orders_line")
    op.drop_index("ix_orders_order_customer_id", table_name="orders_order")
    op.drop_table("orders_order")
    op.drop_table("orders_customer")
