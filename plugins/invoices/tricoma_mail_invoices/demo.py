"""Demo data for ``flask invoices seed-demo``: three customers (one without an e-mail address,
one who reads English) and an invoice for each. Idempotent: a customer that exists is kept, and
gets no second invoice."""
from __future__ import annotations

from sqlalchemy import select

from tricoma_mail_plugin import mail_state

from . import records
from .models import Customer, Invoice

DEMO_CUSTOMERS = (
    # name, e-mail (the demo mail stack's accounts), address, language, invoice lines
    ("Berger Bau GmbH", "anna@hoster.test", "Hauptstraße 5\n80331 München", "de", (
        ("Beratung Bauantrag (Stunden)", 350, 9500, 1900),
        ("Fachbuch Baurecht", 100, 4990, 700),
    )),
    ("Café Sonnenschein", None, "Marktplatz 2\n01067 Dresden", "de", (
        ("Wartung Kaffeemaschine", 100, 12000, 1900),
    )),
    ("Northwind Traders Ltd.", "bob@example.test", "12 High Street\nLondon EC1A 1BB\nUnited Kingdom", "en", (
        ("Consulting (hours)", 800, 11000, 0),
    )),
)


def seed() -> list[str]:
    """Create what is missing; returns a line per customer for the terminal."""
    session = mail_state().db.session
    report = []
    for name, email, address, language, lines in DEMO_CUSTOMERS:
        customer = session.scalar(select(Customer).where(Customer.name == name))
        if customer is None:
            customer = records.create_customer(name, email, address, language)
        invoice = session.scalar(select(Invoice).where(Invoice.customer_id == customer.id).limit(1))
        if invoice is None:
            invoice = records.create_invoice(customer.id, [records.LineInput(*line) for line in lines])
        report.append(f"invoice {invoice.number} (/invoices/{invoice.id}) for {name} <{email or 'no e-mail'}>")
    return report
