"""Amounts, quantities, tax rates and dates written for one language (pages, PDF, mail)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal


def money(cents: int, language: str, currency: str = "EUR") -> str:
    return format_currency(Decimal(cents) / 100, currency, locale=language)


def quantity(hundredths: int, language: str) -> str:
    return format_decimal(Decimal(hundredths) / 100, format="#,##0.##", locale=language)


def rate(hundredths: int, language: str) -> str:
    return quantity(hundredths, language) + " %"


def day(value: date, language: str) -> str:
    """``31.03.2026`` in German, ``Mar 31, 2026`` in English."""
    return format_date(value, format="medium" if language == "en" else "dd.MM.yyyy", locale=language)
