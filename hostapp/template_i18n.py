"""Translations looked up once per request, for templates and code alike.

Flask-Babel finds the request's catalogue anew for every ``_()`` (context look-ups, the locale
turned into a string, the catalogue cache): a page calls it about eighty times, its templates
and the code behind them together. The host's Babel hands out a domain that keeps the catalogue
for the rest of the request while the request's locale is the same object, so ``force_locale``
(a mail in the recipient's language) still gets its own catalogue, and ``refresh()`` a new one.
Plugins' own domains (``plugins/translations.py``) are not touched.
"""
from __future__ import annotations

from flask import g, has_app_context
from flask_babel import Babel, Domain
from werkzeug.utils import cached_property

_KEY = "_hostapp_translations"


class RequestDomain(Domain):
    def get_translations(self):
        if not has_app_context():
            return super().get_translations()
        locale = getattr(g.get("_flask_babel"), "babel_locale", None)
        held = g.get(_KEY)
        if held is not None and locale is not None and held[0] is locale:
            return held[1]
        translations = super().get_translations()  # settles the request's locale
        setattr(g, _KEY, (getattr(g.get("_flask_babel"), "babel_locale", None), translations))
        return translations


class HostBabel(Babel):
    """Flask-Babel whose default domain is a :class:`RequestDomain`."""

    @cached_property
    def domain_instance(self):
        return RequestDomain(domain=self.domain)
