"""Declared record kinds: what an app tells the record kit about its records (invoice, order).

A kind is a plain declaration. The kit derives the rest from it: table names
(``<plural>_customer``, ``<plural>_<name>``, ``<plural>_line``, ``<plural>_mail_template``), the
URL prefix ``/<plural>``, the blueprint ``tricoma_mail_<plural>``, the CLI group ``<plural>`` and
the reference kind ``<name>``. The app's words, default mail texts and demo lines are files in
its package folder (see :class:`RecordKind`), so an app is a declaration plus its texts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordDates:
    """The two dates of a record: the day it is dated, and the day it promises (an invoice's due
    date, an order's delivery date), ``days`` after the first unless the clerk says otherwise."""

    dated: str  # column name, also the create form's field ("issued_on")
    promised: str  # column name ("due_on")
    promised_value: str  # its name in mail templates ("due_date": {{ invoice.due_date }})
    days: int


@dataclass(frozen=True)
class RecordKind:
    """One kind of record an app keeps and sends by e-mail.

    ``folder`` is the app's package folder. The kit reads from it:
    ``translations/`` (the app's words: the kit's English msgids such as "Records" or
    "New record", translated to the app's wording in English and German),
    ``mail/<language>.txt`` (the built-in mail text: a ``Subject:`` line, a blank line, the body),
    ``demo.json`` (the lines of the demo records, one list per demo customer).
    """

    name: str  # "invoice": the reference kind and the record's name in mail templates
    plural: str  # "invoices": prefix of tables, URLs, blueprint and CLI group
    folder: str
    dates: RecordDates
    menu_order: int = 50
    tax_rates: tuple[int, ...] = (1900, 700, 0)  # hundredths of a percent; the first is the default
    currency: str = "EUR"

    @property
    def blueprint_name(self) -> str:
        return f"tricoma_mail_{self.plural}"

    @property
    def id_argument(self) -> str:
        """The URL argument naming one record (``invoice_id``)."""
        return f"{self.name}_id"

    @property
    def seller_setting(self) -> str:
        """The app config key of the seller lines printed on the PDF (``INVOICES_SELLER``)."""
        return f"{self.plural.upper()}_SELLER"

    def path(self, *parts: str) -> str:
        return os.path.join(self.folder, *parts)
