"""The record kit itself, with a sample kind of its own ("quote", tables ``quotes_…`` created for
these tests only): amounts, formatting, numbering, the migration helper, mail texts per language,
"mark sent", the mail history and the words an app without a catalogue gets."""
from __future__ import annotations

import os
from datetime import date
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import create_engine, inspect

from hostapp.extensions import db
from tricoma_mail_plugin import (
    LineInput,
    RecordApp,
    RecordDates,
    RecordKind,
    Reference,
    format_day,
    format_money,
    mail_history,
    record_tables_migration,
    record_totals,
)
from tricoma_mail_plugin.record_kit import amounts, formatting, record_mail, store
from tricoma_mail_plugin.record_kit.page_helpers import page_helpers
from tricoma_mail_plugin.records.mail_links import link

QUOTES = RecordApp(RecordKind("quote", "quotes", os.path.join(os.path.dirname(__file__), "record_kit_sample"),
                              dates=RecordDates("offered_on", "valid_until", "valid_until", days=30)))
LINE = LineInput("Beratung", 100, 1000, 1900)
pure = pytest.mark.db_independent


@pytest.fixture
def quotes(app):
    """The sample kind's tables in the test database, for one test."""
    with app.app_context():
        QUOTES.tables.metadata.create_all(db.engine)
    try:
        yield QUOTES
    finally:
        with app.app_context():
            db.session.remove()
            QUOTES.tables.metadata.drop_all(db.engine)


@pure
def test_totals_are_summed_per_tax_rate_and_rounded_half_up():
    lines = [LineInput("Beratung", 350, 9500, 1900),  # 3.5 × 95.00 = 332.50
             LineInput("Buch", 100, 4990, 700),       # 49.90
             LineInput("Kleinteil", 300, 333, 1900)]  # 3 × 3.33 = 9.99
    sums = record_totals(lines)
    assert sums.net_cents == 33250 + 4990 + 999
    assert [(s.rate_hundredths, s.net_cents, s.tax_cents) for s in sums.taxes] == [(1900, 34249, 6507),
                                                                                   (700, 4990, 349)]
    assert sums.gross_cents == sums.net_cents + 6507 + 349 and sums.tax_cents == 6507 + 349
    assert amounts.parse_decimal("1.234,56", "x") == amounts.parse_decimal("1234.56", "x")
    assert amounts.hundredths(amounts.parse_decimal("12,505", "x")) == 1251
    with pytest.raises(amounts.InvalidInput) as refused:
        amounts.parse_decimal("zwölf", "lines-0-price")
    assert refused.value.field == "lines-0-price"


@pure
def test_money_quantities_rates_and_days_are_written_per_language():
    assert format_money(123456, "de") == "1.234,56\u00a0€" and format_money(123456, "en") == "€1,234.56"
    assert formatting.money(500, "de", currency="CHF") == "5,00\u00a0CHF"
    assert formatting.quantity(350, "de") == "3,5" and formatting.quantity(100, "en") == "1"
    assert formatting.rate(1900, "de") == "19 %" and formatting.rate(750, "en") == "7.5 %"
    assert format_day(date(2026, 3, 31), "de") == "31.03.2026"
    assert format_day(date(2026, 3, 31), "en") == "Mar 31, 2026"


@pure
def test_the_following_number_runs_on_within_a_year_and_restarts_in_the_next():
    assert store.following_number(None, 2026) == "2026-0001"
    assert store.following_number("2026-0041", 2026) == "2026-0042"
    assert store.following_number("2026-0041", 2027) == "2027-0001"
    assert store.following_number("2026-9999", 2026) == "2026-10000"


@pure
def test_the_migration_helper_creates_exactly_the_declared_tables():
    engine = create_engine("sqlite://")
    upgrade, downgrade = record_tables_migration("quotes", "quote", ("offered_on", "valid_until"))
    with engine.begin() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        with Operations.context(context):
            upgrade()
            assert compare_metadata(context, QUOTES.tables.metadata) == []
            downgrade()
        assert inspect(connection).get_table_names() == []


def test_numbers_run_on_per_year_and_the_promised_date_follows_the_kind(app, quotes):
    with app.app_context():
        customer = store.create_customer(quotes, "Berger Bau GmbH", None)
        made = [store.create_record(quotes, customer.id, [LINE], day)
                for day in (date(2026, 3, 1), date(2026, 3, 2), date(2027, 1, 2))]
        assert [quote.number for quote in made] == ["2026-0001", "2026-0002", "2027-0001"]
        assert made[0].promised_on == date(2026, 3, 31) and made[0].state == "draft"
        assert [quote.number for quote in store.records(quotes)] == ["2027-0001", "2026-0002", "2026-0001"]
        with pytest.raises(amounts.InvalidInput):
            store.create_record(quotes, customer.id, [])
        with pytest.raises(amounts.InvalidInput):
            store.create_customer(quotes, "Kunde", "no address")


def test_mail_texts_per_language_built_in_or_as_an_admin_saved_them(app, quotes):
    user = SimpleNamespace(name="Erika", language="en", get_id=lambda: "7")
    with app.app_context():
        customer = store.create_customer(quotes, "Muster GmbH", "m@example.test")
        quote = store.create_record(quotes, customer.id, [LINE], date(2026, 3, 1))
        values = record_mail.template_values(quotes, quote, user, "de")
        assert values["quote"]["gross"] == "11,90\u00a0€" and values["quote"]["valid_until"] == "31.03.2026"
        german = record_mail.render(quotes, record_mail.template(quotes, "de"), values)
        body = "Guten Tag Muster GmbH,\n\nunser Angebot über 11,90\u00a0€ gilt bis 31.03.2026.\nErika\n"
        assert german == ("Angebot 2026-0001", body)
        english = record_mail.template(quotes, "en")
        assert english.subject == "Quote {{ quote.number }}" and not english.customised
        assert record_mail.built_in_text(quotes, "fr").language == "de"

        record_mail.save_template(quotes, "en", "Our quote {{ quote.number }}", "{{ quote.missing.x }}", "7")
        assert record_mail.template(quotes, "en").customised
        assert "line 1" in record_mail.template_error(quotes, quote, user)
        record_mail.reset_template(quotes, "en")
        assert record_mail.template_error(quotes, quote, user) is None


def test_mark_sent_records_when_the_mail_left_and_only_for_its_own_kind(app, quotes):
    with app.app_context():
        customer = store.create_customer(quotes, "Muster GmbH", None)
        quote_id = store.create_record(quotes, customer.id, [LINE]).id
        left = SimpleNamespace(smtp_accepted_at=None)
        quotes.tricoma_mail_message_sent(left, Reference("invoice", str(quote_id)))
        assert store.get_record(quotes, quote_id).state == "draft"
        quotes.tricoma_mail_message_sent(left, Reference("quote", str(quote_id)))
        quote = store.get_record(quotes, quote_id)
        assert quote.state == "sent" and quote.sent_at is not None
        store.delete_record(quote)
        assert store.get_record(quotes, quote_id) is None
        assert store.get_record(quotes, quote_id, include_deleted=True).deleted_at is not None


def test_the_mail_history_lists_sent_mail_and_replies_in_the_page_language(app, quotes):
    reference = Reference("quote", "12")
    with app.test_request_context(headers={"Accept-Language": "de"}):
        link(reference, None, "<q-1@example.test>", "sent", "Angebot 2026-0001", "kunde@example.test")
        link(reference, None, "<q-2@example.test>", "received", "AW: Angebot 2026-0001", "kunde@example.test")
        history = mail_history(reference)
        assert [entry.direction for entry in history] == ["received", "sent"]
        with force_locale("de"):
            page = render_template_string('{% import "tricoma_mail/records/_macros.html" as ui with context %}'
                                          "{{ ui.history_table(history) }}", history=history, **page_helpers(quotes))
        assert "E-Mail-Verlauf" in page and "Antwort" in page and "ausgehend" in page
        assert page.index("AW: Angebot") < page.index("<td>Angebot")


def test_an_app_without_a_catalogue_speaks_of_records(app, quotes):
    with app.test_request_context():
        with force_locale("de"):
            assert quotes.words.gettext("Records") == "Belege"
            assert quotes.words.pgettext("record state", "sent") == "versendet"
            assert quotes.words.pgettext("pdf", "Record") == "Beleg"
        with force_locale("en"):
            assert quotes.words.gettext("New record") == "New record"
            assert quotes.words.gettext("Record-%(number)s.pdf", number="1") == "Record-1.pdf"
