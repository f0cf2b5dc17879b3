"""The forms of a record kind's pages: the create form's lines as typed and what they mean, and
the error a page shows next to the field it names."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from .amounts import InvalidInput, LineInput, hundredths, parse_decimal
from .kinds import RecordKind

EMPTY_LINES = 5  # rows of the create form; rows left without a description are left out


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


def blank_lines(kind: RecordKind) -> list[dict]:
    return [{"description": "", "quantity": "1", "price": "", "tax_rate": str(kind.tax_rates[0])}
            for _ in range(EMPTY_LINES)]


def typed_lines(form: Mapping[str, str]) -> list[dict]:
    """The create form's rows as the user typed them (shown again when one is wrong)."""
    return [{key: form.get(f"lines-{index}-{key}", "") for key in ("description", "quantity", "price", "tax_rate")}
            for index in range(EMPTY_LINES)]


def line_inputs(kind: RecordKind, typed: list[dict], gettext: Callable[..., str]) -> list[LineInput]:
    """The rows with a description as lines; raises ``InvalidInput`` naming the first wrong field."""
    lines = []
    for index, line in enumerate(typed):
        if not line["description"].strip():
            continue
        quantity = parse_decimal(line["quantity"], f"lines-{index}-quantity")
        price = parse_decimal(line["price"], f"lines-{index}-price")
        if quantity <= 0:
            raise InvalidInput(gettext("The quantity must be more than 0."), f"lines-{index}-quantity")
        if not line["tax_rate"].isdigit() or int(line["tax_rate"]) not in kind.tax_rates:
            raise InvalidInput(gettext("Choose a tax rate."), f"lines-{index}-tax_rate")
        lines.append(LineInput(line["description"].strip(), hundredths(quantity), hundredths(price),
                               int(line["tax_rate"])))
    return lines


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("Enter the date as on a calendar, e.g. 2026-03-31."), field) from None
