"""The order confirmation as a PDF (fpdf2), in the customer's language.

The bytes depend on the order alone: the PDF's creation date is the order's, so the same
order always gives the same bytes and the same SHA-256 (core freezes the attachment with its
hash when the dialog opens; what the user saw is what is sent).
"""
from __future__ import annotations

from flask import current_app
from fpdf import FPDF
from fpdf.fonts import FontFace

from . import formatting
from .models import Order
from .records import line_net_cents, totals

DEFAULT_SELLER = ("tricoma Demo GmbH", "Musterstraße 1", "12345 Musterstadt", "USt-IdNr. DE123456789")

LABELS = {
    "de": {
        "title": "Auftragsbestätigung", "number": "Auftragsnummer", "date": "Auftragsdatum",
        "due": "Voraussichtliche Lieferung",
        "position": "Pos.", "description": "Beschreibung", "quantity": "Menge", "unit_price": "Einzelpreis",
        "tax_rate": "USt.", "amount": "Betrag", "net": "Summe netto", "tax": "Umsatzsteuer %(rate)s auf %(net)s",
        "gross": "Auftragssumme", "payment": "Vielen Dank für Ihren Auftrag %(number)s. Wir liefern "
                                            "voraussichtlich am %(due)s; die Rechnung folgt mit der Lieferung.",
        "filename": "Auftragsbestaetigung-%(number)s.pdf",
    },
    "en": {
        "title": "Order confirmation", "number": "Order number", "date": "Order date", "due": "Expected delivery",
        "position": "No.", "description": "Description", "quantity": "Quantity", "unit_price": "Unit price",
        "tax_rate": "VAT", "amount": "Amount", "net": "Net total", "tax": "VAT %(rate)s on %(net)s",
        "gross": "Order total", "payment": "Thank you for your order %(number)s. We expect to deliver on %(due)s; "
                                          "the invoice follows with the delivery.",
        "filename": "Order-confirmation-%(number)s.pdf",
    },
}


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["de"])


def filename(order: Order) -> str:
    return labels(order.customer.language)["filename"] % {"number": order.number}


def order_pdf(order: Order) -> bytes:
    language = order.customer.language if order.customer.language in LABELS else "de"
    text = labels(language)
    seller = tuple(current_app.config.get("ORDERS_SELLER", DEFAULT_SELLER))
    sums = totals(order.lines)

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # ä, ö, ü, ß, € and – in the built-in Helvetica
    pdf.set_creation_date(order.created_at)
    pdf.set_title(f"{text['title']} {order.number}")
    pdf.set_author(seller[0] if seller else "")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("helvetica", size=8)
    pdf.cell(0, 5, " · ".join(seller[:3]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", size=11)
    for line in (order.customer.name, *order.customer.address.splitlines()):
        pdf.cell(0, 5.5, line.strip(), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_font("helvetica", style="B", size=18)
    pdf.cell(0, 10, f"{text['title']} {order.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    facts = ((text["number"], order.number),
             (text["date"], formatting.day(order.ordered_on, language)),
             (text["due"], formatting.day(order.delivery_on, language)))
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
        for line in order.lines:
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
    pdf.multi_cell(0, 5.5, text["payment"] % {"due": formatting.day(order.delivery_on, language),
                                              "number": order.number})
    if len(seller) > 3:
        pdf.ln(6)
        pdf.set_font("helvetica", size=8)
        pdf.cell(0, 5, " · ".join(seller[3:]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
