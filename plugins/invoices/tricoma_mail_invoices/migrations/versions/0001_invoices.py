"""invoices: customers, invoices, lines, mail templates

Revision ID: invoices_0001
Revises:
Create Date: 2026-12-10
"""
import sqlalchemy as sa
from alembic import op

revision = "invoices_0001"
down_revision = None
branch_labels = ("invoices",)
depends_on = None


def upgrade():
    op.create_table(
        "invoices_customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoices_customer"),
    )
    op.create_table(
        "invoices_invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["invoices_customer.id"],
                                name="fk_invoices_invoice_customer_id_invoices_customer"),
        sa.PrimaryKeyConstraint("id", name="pk_invoices_invoice"),
        sa.UniqueConstraint("number", name="uq_invoices_invoice_number"),
    )
    op.create_index("ix_invoices_invoice_customer_id", "invoices_invoice", ["customer_id"])
    op.create_table(
        "invoices_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("quantity_hundredths", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("tax_rate_hundredths", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices_invoice.id"], ondelete="CASCADE",
                                name="fk_invoices_line_invoice_id_invoices_invoice"),
        sa.PrimaryKeyConstraint("id", name="pk_invoices_line"),
    )
    op.create_index("ix_invoices_line_invoice_id", "invoices_line", ["invoice_id"])
    op.create_table(
        "invoices_mail_template",
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("language", name="pk_invoices_mail_template"),
    )


def downgrade():
    op.drop_table("invoices_mail_template")
    op.drop_index("ix_invoices_line_invoice_id", table_name="invoices_line")
    op.drop_table("invoices_line")
    op.drop_index("ix_invoices_invoice_customer_id", table_name="invoices_invoice")
    op.drop_table("invoices_invoice")
    op.drop_table("invoices_customer")
