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
from flask_babel import Babel, Domain, get_translations
from jinja2 import pass_context
from markupsafe import Markup
from werkzeug.utils import cached_property

_KEY = "_hostapp_translations"


class RequestDomain(Domain):
    """The host's default domain: its catalogue found once per request and locale."""

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
    """Flask-Babel whose default domain is a :class:`RequestDomain`, and whose templates look
    the catalogue up once per render (:func:`_catalogue`)."""

    @cached_property
    def domain_instance(self):
        return RequestDomain(domain=self.domain)

    def init_app(self, app, *args, **kwargs) -> None:
        super().init_app(app, *args, **kwargs)
        app.context_processor(lambda: {_CONTEXT_KEY: get_translations()})
        # Jinja's new-style gettext (what Flask-Babel installs), each in one function
        app.jinja_env.newstyle_gettext = True
        app.jinja_env.globals.update(gettext=_template_gettext, ngettext=_template_ngettext,
                                     pgettext=_template_pgettext, npgettext=_template_npgettext)


# A page's templates call ``_()`` some forty times; through Flask-Babel each call finds the
# request's domain and catalogue again (a dozen context look-ups). The catalogue the page is
# rendered with is put into the template's context once, when ``render_template`` starts (inside
# ``force_locale`` it is that locale's), and each ``_()`` takes it from there; a template
# rendered some other way finds none and asks Flask-Babel as before. Like Jinja's new-style
# gettext, the result is Markup when autoescaping and always a format string.
_CONTEXT_KEY = "_hostapp_catalogue"


def _catalogue(context):
    found = context.get(_CONTEXT_KEY)
    return found if found is not None else get_translations()


def _formatted(context, text: str, variables: dict) -> str:
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables


@pass_context
def _template_gettext(context, string: str, **variables) -> str:
    return _formatted(context, _catalogue(context).ugettext(string), variables)


@pass_context
def _template_ngettext(context, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _formatted(context, _catalogue(context).ungettext(singular, plural, num), variables)


@pass_context
def _template_pgettext(context, message_context: str, string: str, **variables) -> str:
    variables.setdefault("context", message_context)
    return _formatted(context, _catalogue(context).upgettext(message_context, string), variables)


@pass_context
def _template_npgettext(context, message_context: str, singular: str, plural: str, num: int,
                        **variables) -> str:
    variables.setdefault("context", message_context)
    variables.setdefault("num", num)
    return _formatted(context, _catalogue(context).unpgettext(message_context, singular, plural, num), variables)
