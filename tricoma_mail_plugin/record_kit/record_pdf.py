"""A record as a PDF (fpdf2), in the customer's language.

The bytes depend on the record alone: the PDF's creation date is the record's, so the same record
always gives the same bytes and the same SHA-256 (core freezes the attachment with its hash when
the dialog opens; what the user saw is what is sent). The app's words name the document
("Rechnung", "Auftragsbestätigung"), its dates, its total and its closing note.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import force_locale
from fpdf import FPDF
from fpdf.fonts import FontFace

from . import formatting
from .amounts import line_net_cents, totals
from .tables import LANGUAGES

if TYPE_CHECKING:
    from .kit import RecordApp

DEFAULT_SELLER = ("tricoma Demo GmbH", "Musterstraße 1", "12345 Musterstadt", "USt-IdNr. DE123456789")


def N_(text: str) -> str:
    """Mark ``text`` for the catalogue; it is translated when the PDF is written, in the
    customer's language."""
    return text


COLUMNS = (N_("No."), N_("Description"), N_("Quantity"), N_("Unit price"), N_("VAT"), N_("Amount"))


def _language(record: Any) -> str:
    return record.customer.language if record.customer.language in LANGUAGES else "de"


def filename(record_app: RecordApp, record: Any) -> str:
    with force_locale(_language(record)):
        return record_app.words.gettext("Record-%(number)s.pdf", number=record.number)


def record_pdf(record_app: RecordApp, record: Any) -> bytes:
    """The PDF of ``record`` in its customer's language (the app's words in that language)."""
    with force_locale(_language(record)):
        return _write_pdf(record_app, record, _language(record))


def _write_pdf(record_app: RecordApp, record: Any, language: str) -> bytes:
    words = record_app.words

    def money(cents: int) -> str:
        return formatting.money(cents, language, record_app.kind.currency)

    title = words.pgettext("pdf", "Record") + " " + record.number
    seller = tuple(current_app.config.get(record_app.kind.seller_setting, DEFAULT_SELLER))
    sums = totals(record.lines)

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # ä, ö, ü, ß, € and – in the built-in Helvetica
    pdf.set_creation_date(record.created_at)
    pdf.set_title(title)
    pdf.set_author(seller[0] if seller else "")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("helvetica", size=8)
    pdf.cell(0, 5, " · ".join(seller[:3]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", size=11)
    for line in (record.customer.name, *record.customer.address.splitlines()):
        pdf.cell(0, 5.5, line.strip(), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_font("helvetica", style="B", size=18)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    facts = ((words.gettext("Record number"), record.number),
             (words.gettext("Record date"), formatting.day(record.dated_on, language)),
             (words.gettext("Follow-up date"), formatting.day(record.promised_on, language)))
    label_width = max(pdf.get_string_width(label) for label, _value in facts) + 6
    for label, value in facts:
        pdf.cell(label_width, 5.5, label)
        pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("helvetica", size=9.5)
    heading = FontFace(emphasis="BOLD", fill_color=(235, 238, 243))
    with pdf.table(col_widths=(12, 78, 20, 28, 16, 28), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
                   headings_style=heading, line_height=6, borders_layout="HORIZONTAL_LINES") as table:
        row = table.row()
        for column in COLUMNS:
            row.cell(words.gettext(column))
        for line in record.lines:
            row = table.row()
            row.cell(str(line.position))
            row.cell(line.description)
            row.cell(formatting.quantity(line.quantity_hundredths, language))
            row.cell(money(line.unit_price_cents))
            row.cell(formatting.rate(line.tax_rate_hundredths, language))
            row.cell(money(line_net_cents(line)))

    pdf.ln(4)
    rows = [(words.gettext("Net total"), money(sums.net_cents), "")]
    for share in sums.taxes:
        rows.append((words.gettext("VAT %(rate)s on %(net)s", rate=formatting.rate(share.rate_hundredths, language),
                          net=money(share.net_cents)), money(share.tax_cents), ""))
    rows.append((words.pgettext("pdf", "Total"), money(sums.gross_cents), "B"))
    for label, value, style in rows:
        pdf.set_font("helvetica", style=style, size=10)
        pdf.cell(pdf.epw - 32, 6, label, align="R")
        pdf.cell(32, 6, value, align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5.5, words.gettext("Please quote the number %(number)s in any reply. Follow-up date: %(due)s.",
                                number=record.number, due=formatting.day(record.promised_on, language)))
    if len(seller) > 3:
        pdf.ln(6)
        pdf.set_font("helvetica", size=8)
        pdf.cell(0, 5, " · ".join(seller[3:]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
