"""Text folded for search: lower case without diacritics, as SQLite's FTS5 compares."""
from __future__ import annotations

import unicodedata


class _WithoutCombiningMarks(dict):
    """A ``str.translate`` table that drops combining marks, filled as characters are met (a
    table of every code point would cost a second at import)."""

    def __missing__(self, code_point: int) -> int | None:
        kept = None if unicodedata.combining(chr(code_point)) else code_point
        self[code_point] = kept
        return kept


_DROP_MARKS = _WithoutCombiningMarks()


def fold(value: str) -> str:
    """Lower case without diacritics ("Zahnräder" → "zahnrader")."""
    value = value or ""
    if value.isascii():
        return value.lower()
    return unicodedata.normalize("NFKD", value).translate(_DROP_MARKS).lower()
