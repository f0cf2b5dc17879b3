"""The suppliers the invoicing business pays (accounts payable): a name, an e-mail address and
the bank account on record; and the contacts the reading view's sender check knows."""
from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from tricoma_mail_plugin import KnownSender, UtcDateTime, db_session, utcnow


def supplier_table(metadata: MetaData) -> Table:
    """``invoices_supplier``, beside the app's customers in its metadata."""
    return Table(
        "invoices_supplier", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(200), nullable=False),
        Column("email", String(254)),
        Column("iban", String(42)),  # as the supplier wrote it; spaces allowed
        Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    )


def known_senders(customer, suppliers: Table) -> list[KnownSender]:
    """The app's customers (name and address) and suppliers (with their bank account)."""
    session = db_session()
    known = [KnownSender(row.name, (row.email,), kind="customer")
             for row in session.scalars(select(customer).where(customer.email.is_not(None)))]
    for row in session.execute(select(suppliers)):
        known.append(KnownSender(row.name, (row.email,) if row.email else (),
                                 (row.iban,) if row.iban else (), kind="supplier"))
    return known
