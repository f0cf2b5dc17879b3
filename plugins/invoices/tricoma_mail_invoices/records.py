"""Customers and invoices: create, find, delete, totals, and "sent" when the mail left.

Services take plain values and work without a request (pages, the CLI and the outbox worker
use them alike). The session is core's, i.e. the host's database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import has_request_context, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tricoma_mail_plugin import RecordDescription, mail_state

from .i18n import _
from .models import LANGUAGES, Customer, Invoice, InvoiceLine, utcnow

KIND = "invoice"
PAYMENT_DAYS = 14
TAX_RATES = (1900, 700, 0)  # German VAT in hundredths of a percent


class InvalidInput(ValueError):
    """A value typed into a form cannot be used; ``field`` names which."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity_hundredths: int
    unit_price_cents: int
    tax_rate_hundredths: int


@dataclass(frozen=True)
class TaxShare:
    rate_hundredths: int
    net_cents: int
    tax_cents: int


@dataclass(frozen=True)
class Totals:
    net_cents: int
    taxes: tuple[TaxShare, ...]  # one per tax rate, highest rate first
    gross_cents: int

    @property
    def tax_cents(self) -> int:
        return sum(share.tax_cents for share in self.taxes)


def _session():
    return mail_state().db.session


# -- amounts ------------------------------------------------------------------------------------

def line_net_cents(line) -> int:
    """Quantity × unit price, rounded half up to whole cents."""
    exact = Decimal(line.quantity_hundredths) * Decimal(line.unit_price_cents) / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def totals(lines) -> Totals:
    """Net, tax per rate (computed on the rate's net sum, as German invoices do) and gross."""
    by_rate: dict[int, int] = {}
    for line in lines:
        by_rate[line.tax_rate_hundredths] = by_rate.get(line.tax_rate_hundredths, 0) + line_net_cents(line)
    taxes = []
    for rate, net in sorted(by_rate.items(), reverse=True):
        tax = int((Decimal(net) * Decimal(rate) / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        taxes.append(TaxShare(rate, net, tax))
    net = sum(by_rate.values())
    return Totals(net, tuple(taxes), net + sum(share.tax_cents for share in taxes))


def parse_decimal(text: str, field: str) -> Decimal:
    """``"1.234,56"``, ``"1234.56"`` or ``"12,5"``: a German or an English decimal number."""
    cleaned = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(_("%(value)s is not a number.", value=text), field) from None
    if not value.is_finite():
        raise InvalidInput(_("%(value)s is not a number.", value=text), field)
    return value


def hundredths(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- customers ----------------------------------------------------------------------------------

def customers() -> list[Customer]:
    return list(_session().scalars(select(Customer).order_by(Customer.name, Customer.id)))


def create_customer(name: str, email: str | None, address: str = "", language: str = "de") -> Customer:
    name = (name or "").strip()
    email = (email or "").strip() or None
    if not name:
        raise InvalidInput(_("Enter the customer's name."), "name")
    if email is not None and ("@" not in email or any(c.isspace() for c in email) or len(email) > 254):
        raise InvalidInput(_("%(value)s is not a valid e-mail address.", value=email), "email")
    if language not in LANGUAGES:
        raise InvalidInput(_("Choose German or English."), "language")
    customer = Customer(name=name[:200], email=email, address=(address or "").strip(), language=language)
    _session().add(customer)
    _session().commit()
    return customer


# -- invoices -----------------------------------------------------------------------------------

def get_invoice(invoice_id, include_deleted: bool = False) -> Invoice | None:
    """The invoice with this id (an int or the id part of a reference), or ``None``."""
    try:
        number = int(str(invoice_id))
    except ValueError:
        return None
    if not 0 < number < 2**31:
        return None
    invoice = _session().get(Invoice, number)
    if invoice is None or (invoice.deleted_at is not None and not include_deleted):
        return None
    return invoice


def invoices(deleted: bool = False) -> list[Invoice]:
    condition = Invoice.deleted_at.is_not(None) if deleted else Invoice.deleted_at.is_(None)
    return list(_session().scalars(select(Invoice).where(condition).order_by(Invoice.number.desc())))


def next_number(year: int) -> str:
    """The year and a running number: 2026-0042 follows 2026-0041."""
    prefix = f"{year}-"
    last = _session().scalar(select(func.max(Invoice.number)).where(Invoice.number.like(prefix + "%")))
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def create_invoice(customer_id: int, lines: list[LineInput], issued_on: date | None = None) -> Invoice:
    """A draft invoice with the next free number of its year."""
    customer = _session().get(Customer, customer_id) if isinstance(customer_id, int) else None
    if customer is None:
        raise InvalidInput(_("Choose a customer."), "customer")
    if not lines:
        raise InvalidInput(_("Enter at least one line."), "lines")
    issued_on = issued_on or date.today()
    for attempt in range(5):  # two clerks may take the same number at once; the second retries
        invoice = Invoice(number=next_number(issued_on.year), customer_id=customer.id, issued_on=issued_on,
                          due_on=issued_on + timedelta(days=PAYMENT_DAYS), state="draft")
        invoice.lines = [InvoiceLine(position=position, description=line.description[:500],
                                     quantity_hundredths=line.quantity_hundredths,
                                     unit_price_cents=line.unit_price_cents,
                                     tax_rate_hundredths=line.tax_rate_hundredths)
                         for position, line in enumerate(lines, start=1)]
        _session().add(invoice)
        try:
            _session().commit()
        except IntegrityError:
            _session().rollback()
            if attempt == 4:
                raise
            continue
        return invoice
    raise AssertionError("unreachable")


def delete_invoice(invoice: Invoice) -> None:
    """Delete for the user; the row stays (marked), so the mail history keeps its number."""
    invoice.deleted_at = utcnow()
    _session().commit()


def mark_sent(invoice_id: str, at: datetime | None) -> None:
    """The invoice's mail was accepted by the SMTP server (``message_sent``)."""
    invoice = get_invoice(invoice_id)
    if invoice is None:
        return
    invoice.state = "sent"
    invoice.sent_at = at or utcnow()
    _session().commit()


# -- the reference type -------------------------------------------------------------------------

def detail_url(invoice_id) -> str:
    if has_request_context():
        return url_for("tricoma_mail_invoices.detail", invoice_id=invoice_id)
    return f"/invoices/{invoice_id}"


def describe(invoice_id: str) -> RecordDescription | None:
    """Title and page of an invoice for core (mail view, compose dialog); ``None`` once deleted."""
    invoice = get_invoice(invoice_id)
    if invoice is None:
        return None
    return RecordDescription(_("Invoice %(number)s", number=invoice.number), detail_url(invoice.id))
