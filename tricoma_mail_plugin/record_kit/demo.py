"""Demo data for ``flask <plural> seed-demo``: three customers (one without an e-mail address,
one who reads English) and a record for each, with the lines of the app's ``demo.json`` (a list
of lines per customer: description, quantity and tax rate in hundredths, unit price in cents).
Idempotent: a customer that exists is kept, and gets no second record."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from .._state import db_session
from . import store
from .amounts import LineInput

if TYPE_CHECKING:
    from .kit import RecordApp

DEMO_CUSTOMERS = (
    # name, e-mail (the demo mail stack's accounts), address, language
    ("Berger Bau GmbH", "anna@hoster.test", "Hauptstraße 5\n80331 München", "de"),
    ("Café Sonnenschein", None, "Marktplatz 2\n01067 Dresden", "de"),
    ("Northwind Traders Ltd.", "bob@example.test", "12 High Street\nLondon EC1A 1BB\nUnited Kingdom", "en"),
)


def demo_lines(record_app: RecordApp) -> list[list[LineInput]]:
    with open(record_app.kind.path("demo.json"), encoding="utf-8") as file:
        return [[LineInput(**line) for line in lines] for lines in json.load(file)]


def seed(record_app: RecordApp) -> list[str]:
    """Create what is missing; returns a line per customer for the terminal."""
    session, tables, kind = db_session(), record_app.tables, record_app.kind
    report = []
    for (name, email, address, language), lines in zip(DEMO_CUSTOMERS, demo_lines(record_app)):
        customer = session.scalar(select(tables.Customer).where(tables.Customer.name == name))
        if customer is None:
            customer = store.create_customer(record_app, name, email, address, language)
        record = session.scalar(select(tables.Record).where(tables.Record.customer_id == customer.id).limit(1))
        if record is None:
            record = store.create_record(record_app, customer.id, lines)
        report.append(f"{kind.name} {record.number} (/{kind.plural}/{record.id}) for {name} "
                      f"<{email or 'no e-mail'}>")
    return report
