"""Demo data for ``flask orders seed-demo``: three customers (one without an e-mail address,
one who reads English) and an order for each. Idempotent: a customer that exists is kept, and
gets no second order."""
from __future__ import annotations

from sqlalchemy import select

from tricoma_mail_plugin import mail_state

from . import records
from .models import Customer, Order

DEMO_CUSTOMERS = (
    # name, e-mail (the demo mail stack's accounts), address, language, order lines
    ("Berger Bau GmbH", "anna@hoster.test", "Hauptstraße 5\n80331 München", "de", (
        ("Bauhelm, weiß", 1000, 1490, 1900),
        ("Arbeitshandschuhe (Paar)", 2000, 395, 1900),
    )),
    ("Café Sonnenschein", None, "Marktplatz 2\n01067 Dresden", "de", (
        ("Espressobohnen, 1 kg", 600, 1890, 700),
        ("Entkalker", 200, 495, 1900),
    )),
    ("Northwind Traders Ltd.", "bob@example.test", "12 High Street\nLondon EC1A 1BB\nUnited Kingdom", "en", (
        ("Espresso machine Barista Pro", 100, 89900, 0),
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
        order = session.scalar(select(Order).where(Order.customer_id == customer.id).limit(1))
        if order is None:
            order = records.create_order(customer.id, [records.LineInput(*line) for line in lines])
        report.append(f"order {order.number} (/orders/{order.id}) for {name} <{email or 'no e-mail'}>")
    return report
