"""Translations a plugin ships in its own folder, looked up before the app's.

A plugin's pages mix its own texts with the host's layout; a text its catalogue lacks is handed
on to the app's ``gettext``. Flask-Babel caches catalogues per ``Babel`` object, which all apps
of a process share, so each plugin keeps a ``Domain`` of its own rather than joining the app's
list of folders.
"""
from __future__ import annotations

from typing import Callable

import flask_babel
from flask_babel import Domain, LazyString


class PluginTranslations:
    """``gettext`` and ``lazy_gettext`` for the catalogue in ``directory``
    (``<directory>/<lang>/LC_MESSAGES/messages.mo``)."""

    def __init__(self, directory: str) -> None:
        self._domain = Domain(translation_directories=[directory])

    def gettext(self, string: str, **variables) -> str:
        translated = self._domain.get_translations().ugettext(string)
        if translated == string:
            return flask_babel.gettext(string, **variables)
        return translated % variables if variables else translated

    def pgettext(self, context: str, string: str, **variables) -> str:
        """``gettext`` of ``string`` in ``context`` (one English word may need two translations)."""
        translated = self._domain.get_translations().upgettext(context, string)
        if translated == string:
            return flask_babel.pgettext(context, string, **variables)
        return translated % variables if variables else translated

    def lazy_gettext(self, string: str, **variables) -> LazyString:
        return LazyString(self.gettext, string, **variables)


def plugin_translations(directory: str) -> tuple[Callable[..., str], Callable[..., LazyString]]:
    """``(gettext, lazy_gettext)`` for a plugin's own catalogue in ``directory``."""
    translations = PluginTranslations(directory)
    return translations.gettext, translations.lazy_gettext
