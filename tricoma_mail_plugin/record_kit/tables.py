"""The tables of one record kind, on a metadata of its own (every name starts with its plural).

A record (``<plural>_<name>``) is ``draft`` until a mail with it was accepted by the SMTP server,
then ``sent``. A deleted record keeps its row (``deleted_at``), so its mail history still has a
number to show. The two dates keep the column names the app declared (``issued_on``/``due_on``)
and are read through the same attributes for every kind: ``dated_on`` and ``promised_on``.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, mapped_column, relationship

from ..models import NAMING_CONVENTION, UtcDateTime, utcnow
from .kinds import RecordKind

LANGUAGES = ("de", "en")
STATES = ("draft", "sent")


@dataclass(frozen=True)
class RecordTables:
    """The mapped classes of one kind: ``Customer``, ``Record``, ``Line``, ``MailTemplate``."""

    metadata: MetaData
    Customer: type
    Record: type
    Line: type
    MailTemplate: type


def _required(*args, **kwargs):
    return mapped_column(*args, nullable=False, **kwargs)


def record_tables(kind: RecordKind) -> RecordTables:
    """Declare the kind's tables (one call per kind: each call makes a new metadata)."""
    prefix, title = kind.plural, kind.name.title()
    record_table = f"{prefix}_{kind.name}"

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)

    customer = type(f"{title}Customer", (Base,), {
        "__tablename__": f"{prefix}_customer",
        "id": mapped_column(Integer, primary_key=True),
        "name": _required(String(200)),
        "email": mapped_column(String(254)),  # many customers still get paper
        "address": _required(Text, default=""),
        "language": _required(String(8), default="de"),  # of the PDF
        "created_at": _required(UtcDateTime(), default=utcnow),
    })
    line = type(f"{title}Line", (Base,), {
        "__tablename__": f"{prefix}_line",
        "id": mapped_column(Integer, primary_key=True),
        "record_id": _required(kind.id_argument, Integer, ForeignKey(f"{record_table}.id", ondelete="CASCADE"),
                               index=True),
        "position": _required(Integer),
        "description": _required(String(500)),
        "quantity_hundredths": _required(Integer),
        "unit_price_cents": _required(Integer),
        "tax_rate_hundredths": _required(Integer),
    })
    record = type(title, (Base,), {
        "__tablename__": record_table,
        "id": mapped_column(Integer, primary_key=True),
        "number": _required(String(20), unique=True),  # "2026-0042"
        "customer_id": _required(Integer, ForeignKey(f"{prefix}_customer.id"), index=True),
        "dated_on": _required(kind.dates.dated, Date),
        "promised_on": _required(kind.dates.promised, Date),
        "state": _required(String(10), default="draft"),
        "sent_at": mapped_column(UtcDateTime()),
        "created_at": _required(UtcDateTime(), default=utcnow),
        "deleted_at": mapped_column(UtcDateTime()),
        "customer": relationship(customer, lazy="joined"),
        "lines": relationship(line, order_by=line.position, cascade="all, delete-orphan", lazy="selectin"),
    })
    mail_template = type(f"{title}MailTemplate", (Base,), {
        # The mail in one language as an admin wrote it; no row: the built-in text.
        "__tablename__": f"{prefix}_mail_template",
        "language": mapped_column(String(8), primary_key=True),
        "subject": _required(Text),
        "body": _required(Text),
        "updated_at": _required(UtcDateTime(), default=utcnow),
        "updated_by": mapped_column(String(200)),
    })
    return RecordTables(Base.metadata, customer, record, line, mail_template)
