"""Translations in templates, looked up once per request.

Flask-Babel's template functions find the request's catalogue anew for every ``_()`` a template
calls (a page has about fifty: context look-ups, the locale, the catalogue cache). These find
it once per request and keep it while the request's locale is the same object, so
``force_locale`` (a mail in the recipient's language) still gets its own catalogue.
"""
from __future__ import annotations

from flask import Flask, g, has_app_context
from flask_babel import get_translations

_KEY = "_hostapp_translations"


def _translations():
    if not has_app_context():
        return get_translations()
    babel_context = g.get("_flask_babel")
    locale = getattr(babel_context, "babel_locale", None)
    held = g.get(_KEY)
    if held is not None and locale is not None and held[0] is locale:
        return held[1]
    translations = get_translations()  # settles the request's locale
    setattr(g, _KEY, (getattr(g.get("_flask_babel"), "babel_locale", None), translations))
    return translations


def install(app: Flask) -> None:
    """Replace the template functions Flask-Babel installed in ``app``'s Jinja environment."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
