"""The invoice app's tables, on a metadata of their own (every name starts with ``invoices_``).

They live in the host's database through core's session (``mail_state().db``); their
migrations are in ``migrations/versions`` (branch ``invoices``). Amounts are integers: money in
cents, quantities and tax rates in hundredths (``150`` is 1.5 pieces, ``1900`` is 19 %), so no
floating point touches a total.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tricoma_mail_plugin import NAMING_CONVENTION, UtcDateTime, utcnow

LANGUAGES = ("de", "en")
STATES = ("draft", "sent")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


class Customer(Base):
    __tablename__ = "invoices_customer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))  # many customers still get paper
    address: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="de")  # of the invoice PDF
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Invoice(Base):
    """An invoice. ``state`` is ``draft`` until a mail with it was accepted by the SMTP server,
    then ``sent``. A deleted invoice keeps its row (``deleted_at``), so its mail history still
    has a number to show."""

    __tablename__ = "invoices_invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # "2026-0042"
    customer_id: Mapped[int] = mapped_column(ForeignKey("invoices_customer.id"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list["InvoiceLine"]] = relationship(
        order_by="InvoiceLine.position", cascade="all, delete-orphan", lazy="selectin")


class InvoiceLine(Base):
    __tablename__ = "invoices_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices_invoice.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    quantity_hundredths: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    tax_rate_hundredths: Mapped[int] = mapped_column(Integer)


class MailTemplate(Base):
    """The subject and body of the invoice mail in one language, as an admin wrote them (Jinja,
    rendered in core's sandbox). No row: the built-in text of ``mail.DEFAULT_TEMPLATES``."""

    __tablename__ = "invoices_mail_template"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))
