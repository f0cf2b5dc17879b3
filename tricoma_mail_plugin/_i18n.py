"""Translation for the layers below Flask (the exception tree, ``mime/``): they mark their text
with ``_``/``_l`` from here, and ``init_app`` hands in Flask-Babel's ``gettext``. Until then
(a script that only parses mail) text stays in English."""
from __future__ import annotations

from typing import Callable

from babel.support import LazyProxy


def _untranslated(text: str, **variables) -> str:
    return text % variables if variables else text


_translator: Callable[..., str] = _untranslated


def use_translator(gettext: Callable[..., str]) -> None:
    global _translator
    _translator = gettext


def _(text: str, **variables) -> str:
    """``text`` translated now (in the current request's language)."""
    return _translator(text, **variables)


def _l(text: str, **variables) -> LazyProxy:
    """``text`` translated each time it is turned into a string."""
    return LazyProxy(_, text, enable_cache=False, **variables)
