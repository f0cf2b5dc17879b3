"""invoices: the suppliers the business pays, with the bank account on record (issue 16).

Revision ID: invoices_0002
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "invoices_0002", "invoices_0001", None, None


def upgrade() -> None:
    op.create_table(
        "invoices_supplier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("iban", sa.String(42), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoices_supplier"),
    )


def downgrade() -> None:
    op.drop_table("invoices_supplier")
