"""The plugin's own German catalogue, looked up before the app's.

The plugin's pages extend the host's layout, whose texts live in the app's catalogue, so a text
that is not in ours is handed on to the app's ``gettext``. A catalogue of our own (rather than
adding our folder to the app's list) is cached per plugin, not per process: Flask-Babel keeps one
cache for all apps made with the same ``Babel`` object.
"""
from __future__ import annotations

import os

import flask_babel
from flask_babel import Domain, LazyString

TRANSLATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations")

_domain = Domain(translation_directories=[TRANSLATIONS])


def gettext(string: str, **variables) -> str:
    translated = _domain.get_translations().ugettext(string)
    if translated == string:
        return flask_babel.gettext(string, **variables)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


_ = gettext
_l = lazy_gettext
