"""Customers and records of one kind: create, find, list, delete, numbering, and "sent" when the
mail left.

Services take plain values and work without a request (pages, the CLI and the outbox worker use
them alike). The session is core's, i.e. the host's database.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .._state import db_session
from ..models import utcnow
from .amounts import InvalidInput, LineInput
from .tables import LANGUAGES

if TYPE_CHECKING:
    from .kit import RecordApp

NUMBER_ATTEMPTS = 5  # two clerks may take the same number at once; the second tries the next one


def _session():
    return db_session()


def customers(record_app: RecordApp) -> list[Any]:
    Customer = record_app.tables.Customer
    return list(_session().scalars(select(Customer).order_by(Customer.name, Customer.id)))


def create_customer(record_app: RecordApp, name: str, email: str | None, address: str = "",
                    language: str = "de") -> Any:
    name = (name or "").strip()
    email = (email or "").strip() or None
    if not name:
        raise InvalidInput(_("Enter the customer's name."), "name")
    if email is not None and ("@" not in email or any(c.isspace() for c in email) or len(email) > 254):
        raise InvalidInput(_("%(value)s is not a valid e-mail address.", value=email), "email")
    if language not in LANGUAGES:
        raise InvalidInput(_("Choose German or English."), "language")
    customer = record_app.tables.Customer(name=name[:200], email=email, address=(address or "").strip(),
                                          language=language)
    _session().add(customer)
    _session().commit()
    return customer


def get_record(record_app: RecordApp, record_id: Any, include_deleted: bool = False) -> Any | None:
    """The record with this id (an int or the id part of a reference), or ``None``."""
    try:
        number = int(str(record_id))
    except ValueError:
        return None
    if not 0 < number < 2**31:
        return None
    record = _session().get(record_app.tables.Record, number)
    if record is None or (record.deleted_at is not None and not include_deleted):
        return None
    return record


def records(record_app: RecordApp, deleted: bool = False) -> list[Any]:
    """The records in use (or the deleted ones), newest number first."""
    Record = record_app.tables.Record
    condition = Record.deleted_at.is_not(None) if deleted else Record.deleted_at.is_(None)
    return list(_session().scalars(select(Record).where(condition).order_by(Record.number.desc())))


def following_number(last: str | None, year: int) -> str:
    """The number after ``last`` in ``year``: 2026-0042 follows 2026-0041, 2027-0001 starts 2027."""
    prefix = f"{year}-"
    sequence = int(last.removeprefix(prefix)) + 1 if last and last.startswith(prefix) else 1
    return f"{prefix}{sequence:04d}"


def next_number(record_app: RecordApp, year: int) -> str:
    Record = record_app.tables.Record
    last = _session().scalar(select(func.max(Record.number)).where(Record.number.like(f"{year}-%")))
    return following_number(last, year)


def create_record(record_app: RecordApp, customer_id: int | None, lines: list[LineInput],
                  dated_on: date | None = None) -> Any:
    """A draft record with the next free number of its year; its promised date follows the
    kind's rule (``RecordDates.days`` later)."""
    tables = record_app.tables
    customer = _session().get(tables.Customer, customer_id) if isinstance(customer_id, int) else None
    if customer is None:
        raise InvalidInput(_("Choose a customer."), "customer")
    if not lines:
        raise InvalidInput(_("Enter at least one line."), "lines")
    dated_on = dated_on or date.today()
    for attempt in range(NUMBER_ATTEMPTS):
        record = tables.Record(number=next_number(record_app, dated_on.year), customer_id=customer.id,
                               dated_on=dated_on, state="draft",
                               promised_on=dated_on + timedelta(days=record_app.kind.dates.days))
        record.lines = [tables.Line(position=position, description=line.description[:500],
                                    quantity_hundredths=line.quantity_hundredths,
                                    unit_price_cents=line.unit_price_cents,
                                    tax_rate_hundredths=line.tax_rate_hundredths)
                        for position, line in enumerate(lines, start=1)]
        _session().add(record)
        try:
            _session().commit()
        except IntegrityError:
            _session().rollback()
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
            continue
        return record
    raise AssertionError("unreachable")


def delete_record(record: Any) -> None:
    """Delete for the user; the row stays (marked), so the mail history keeps its number."""
    record.deleted_at = utcnow()
    _session().commit()


def mark_sent(record_app: RecordApp, record_id: str, at: datetime | None) -> None:
    """The record's mail was accepted by the SMTP server (``message_sent``)."""
    record = get_record(record_app, record_id)
    if record is None:
        return
    record.state = "sent"
    record.sent_at = at or utcnow()
    _session().commit()
