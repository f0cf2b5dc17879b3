"""International bank account numbers (ISO 13616) in free text: found, checked (length per
country and the mod-97 check digits) and written in a normal form."""
from __future__ import annotations

import re

#: Length of an IBAN per country (SWIFT's IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
# A country code and check digits, then letters and digits, in groups with single spaces.
_START = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(IBAN_LENGTHS) + r")\s?([0-9]{2})")
_CHARS = re.compile(r"[A-Z0-9]")
MAX_TEXT_CHARS = 500_000


def normalize(value: str) -> str:
    """``value`` without spaces, upper case: ``DE89 3704 …`` → ``DE893704…``."""
    return re.sub(r"[\s\-]", "", value or "").upper()


def is_valid(value: str) -> bool:
    """Whether ``value`` is an IBAN: known country, its length, check digits right."""
    iban = normalize(value)
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def find_ibans(text: str) -> list[str]:
    """Every valid IBAN written in ``text`` (with or without spaces), normalized, each once."""
    found: dict[str, None] = {}
    text = text[:MAX_TEXT_CHARS]
    for match in _START.finditer(text):
        country = match.group(1)
        wanted = IBAN_LENGTHS[country] - 4
        chars, position = [], match.end()
        while len(chars) < wanted and position < len(text):
            char = text[position]
            if _CHARS.match(char):
                chars.append(char)
            elif not (char == " " and position + 1 < len(text) and _CHARS.match(text[position + 1])):
                break
            position += 1
        if len(chars) != wanted:
            continue
        if position < len(text) and _CHARS.match(text[position]):
            continue  # longer than this country's IBAN: some other number
        candidate = country + match.group(2) + "".join(chars)
        if is_valid(candidate):
            found[candidate] = None
    return list(found)


def spaced(iban: str) -> str:
    """The normal printed form: groups of four."""
    iban = normalize(iban)
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
