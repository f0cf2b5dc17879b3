"""The invoice as a PDF (fpdf2), in the customer's language.

The bytes depend on the invoice alone: the PDF's creation date is the invoice's, so the same
invoice always gives the same bytes and the same SHA-256 (core freezes the attachment with its
hash when the dialog opens; what the user saw is what is sent).
"""
from __future__ import annotations

from flask import current_app
from fpdf import FPDF
from fpdf.fonts import FontFace

from . import formatting
from .models import Invoice
from .records import line_net_cents, totals

DEFAULT_SELLER = ("tricoma Demo GmbH", "Musterstraße 1", "12345 Musterstadt", "USt-IdNr. DE123456789")

LABELS = {
    "de": {
        "title": "Rechnung", "number": "Rechnungsnummer", "date": "Rechnungsdatum", "due": "Fällig am",
        "position": "Pos.", "description": "Beschreibung", "quantity": "Menge", "unit_price": "Einzelpreis",
        "tax_rate": "USt.", "amount": "Betrag", "net": "Summe netto", "tax": "Umsatzsteuer %(rate)s auf %(net)s",
        "gross": "Rechnungsbetrag", "payment": "Bitte überweisen Sie den Rechnungsbetrag bis zum %(due)s "
                                              "unter Angabe der Rechnungsnummer %(number)s.",
        "filename": "Rechnung-%(number)s.pdf",
    },
    "en": {
        "title": "Invoice", "number": "Invoice number", "date": "Invoice date", "due": "Due on",
        "position": "No.", "description": "Description", "quantity": "Quantity", "unit_price": "Unit price",
        "tax_rate": "VAT", "amount": "Amount", "net": "Net total", "tax": "VAT %(rate)s on %(net)s",
        "gross": "Total due", "payment": "Please transfer the total by %(due)s, quoting invoice number %(number)s.",
        "filename": "Invoice-%(number)s.pdf",
    },
}


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["de"])


def filename(invoice: Invoice) -> str:
    return labels(invoice.customer.language)["filename"] % {"number": invoice.number}


def invoice_pdf(invoice: Invoice) -> bytes:
    language = invoice.customer.language if invoice.customer.language in LABELS else "de"
    text = labels(language)
    seller = tuple(current_app.config.get("INVOICES_SELLER", DEFAULT_SELLER))
    sums = totals(invoice.lines)

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # ä, ö, ü, ß, € and – in the built-in Helvetica
    pdf.set_creation_date(invoice.created_at)
    pdf.set_title(f"{text['title']} {invoice.number}")
    pdf.set_author(seller[0] if seller else "")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("helvetica", size=8)
    pdf.cell(0, 5, " · ".join(seller[:3]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", size=11)
    for line in (invoice.customer.name, *invoice.customer.address.splitlines()):
        pdf.cell(0, 5.5, line.strip(), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_font("helvetica", style="B", size=18)
    pdf.cell(0, 10, f"{text['title']} {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    facts = ((text["number"], invoice.number),
             (text["date"], formatting.day(invoice.issued_on, language)),
             (text["due"], formatting.day(invoice.due_on, language)))
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
        for key in ("position", "description", "quantity", "unit_price", "tax_rate", "amount"):
            row.cell(text[key])
        for line in invoice.lines:
            row = table.row()
            row.cell(str(line.position))
            row.cell(line.description)
            row.cell(formatting.quantity(line.quantity_hundredths, language))
            row.cell(formatting.money(line.unit_price_cents, language))
            row.cell(formatting.rate(line.tax_rate_hundredths, language))
            row.cell(formatting.money(line_net_cents(line), language))

    pdf.ln(4)
    rows = [(text["net"], formatting.money(sums.net_cents, language), "")]
    for share in sums.taxes:
        rows.append((text["tax"] % {"rate": formatting.rate(share.rate_hundredths, language),
                                    "net": formatting.money(share.net_cents, language)},
                     formatting.money(share.tax_cents, language), ""))
    rows.append((text["gross"], formatting.money(sums.gross_cents, language), "B"))
    for label, value, style in rows:
        pdf.set_font("helvetica", style=style, size=10)
        pdf.cell(pdf.epw - 32, 6, label, align="R")
        pdf.cell(32, 6, value, align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5.5, text["payment"] % {"due": formatting.day(invoice.due_on, language),
                                              "number": invoice.number})
    if len(seller) > 3:
        pdf.ln(6)
        pdf.set_font("helvetica", size=8)
        pdf.cell(0, 5, " · ".join(seller[3:]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
