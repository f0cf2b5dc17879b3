"""Money arithmetic of record lines: line amounts, totals per tax rate, and typed numbers.

Amounts are integers: money in cents, quantities and tax rates in hundredths (``150`` is 1.5
pieces, ``1900`` is 19 %), so no floating point touches a total.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from flask_babel import gettext as _


class InvalidInput(ValueError):
    """A value typed into a form cannot be used; ``field`` names which."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LineAmounts(Protocol):
    quantity_hundredths: int
    unit_price_cents: int
    tax_rate_hundredths: int


@dataclass(frozen=True)
class LineInput:
    """One line as typed: what a new record's line will hold."""

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


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_net_cents(line: LineAmounts) -> int:
    """Quantity × unit price, rounded half up to whole cents."""
    return _whole(Decimal(line.quantity_hundredths) * Decimal(line.unit_price_cents) / 100)


def totals(lines: Iterable[LineAmounts]) -> Totals:
    """Net, tax per rate (computed on the rate's net sum, as German invoices do) and gross."""
    by_rate: dict[int, int] = {}
    for line in lines:
        by_rate[line.tax_rate_hundredths] = by_rate.get(line.tax_rate_hundredths, 0) + line_net_cents(line)
    taxes = tuple(TaxShare(rate, net, _whole(Decimal(net) * Decimal(rate) / 10000))
                  for rate, net in sorted(by_rate.items(), reverse=True))
    net = sum(by_rate.values())
    return Totals(net, taxes, net + sum(share.tax_cents for share in taxes))


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
    return _whole(value * 100)
