"""The order app's tables, on a metadata of their own (every name starts with ``orders_``).

They live in the host's database through core's session (``mail_state().db``); their
migrations are in ``migrations/versions`` (branch ``orders``). Amounts are integers: money in
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
    __tablename__ = "orders_customer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))  # many customers still get paper
    address: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="de")  # of the order PDF
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Order(Base):
    """An order. ``state`` is ``draft`` until a mail with its confirmation was accepted by the
    SMTP server, then ``sent``. A deleted order keeps its row (``deleted_at``), so its mail
    history still has a number to show."""

    __tablename__ = "orders_order"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # "2026-0042"
    customer_id: Mapped[int] = mapped_column(ForeignKey("orders_customer.id"), index=True)
    ordered_on: Mapped[date] = mapped_column(Date)
    delivery_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list["OrderLine"]] = relationship(
        order_by="OrderLine.position", cascade="all, delete-orphan", lazy="selectin")


class OrderLine(Base):
    __tablename__ = "orders_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders_order.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    quantity_hundredths: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    tax_rate_hundredths: Mapped[int] = mapped_column(Integer)


class MailTemplate(Base):
    """The subject and body of the order mail in one language, as an admin wrote them (Jinja,
    rendered in core's sandbox). No row: the built-in text of ``mail.DEFAULT_TEMPLATES``."""

    __tablename__ = "orders_mail_template"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))
