"""The layout's chrome (stylesheet, top bar, navigation, up to the page's own content), rendered
once per look and remembered per web process (issue 14, point 4).

Every page of the host and of tricoma mail's plugins is framed by ``hostapp/layout.html``. Its
top bar and navigation are the same from page to page for one user in one language, yet building
them from the template cost about as much as the rest of a cached reading page. The layout asks
:func:`page_chrome` instead: the navigation's entries are still asked of the plugins on every
request (a badge may change at any time), and the markup is rendered only for a key made of
every value it shows (language, script root, the page's path and query, who is signed in, the
entries), so a change anywhere is a new key, never stale markup. The chrome's forms carry the
CSRF token: it is kept with a per-process mark in its place and gets the request's token each
time it is used.
"""
from __future__ import annotations

import secrets
from typing import NamedTuple

from flask import current_app, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .navigation import navigation_sections

_EXTENSION_KEY = "hostapp_page_chrome"
#: chromes one process keeps before it starts again (a key holds the page's path and query)
MAX_ENTRIES = 512
# random per process: no path, name or entry can hold it, so only the tokens' places are filled in
_TOKEN_MARK = f"csrf-mark-{secrets.token_hex(16)}"


class Chrome(NamedTuple):
    locale: str
    top: Markup  # from the stylesheet up to the opening of <main>


def page_chrome() -> Chrome:
    """The request's chrome, with the request's CSRF token."""
    locale = str(get_locale())
    user = current_user._get_current_object()
    signed_in = bool(user.is_authenticated)
    sections = tuple((title, tuple(entries)) for title, entries in navigation_sections()) if signed_in else ()
    next_url = request.full_path if request.query_string else request.path
    key = (locale, request.script_root, request.path, next_url, signed_in, user.name if signed_in else None,
           sections)
    held = current_app.extensions.setdefault(_EXTENSION_KEY, {})
    top = held.get(key)
    if top is None:
        if len(held) >= MAX_ENTRIES:
            held.clear()
        top = held[key] = render_template("hostapp/_chrome.html", locale=locale, csrf=_TOKEN_MARK,
                                          next_url=next_url, path=request.path, signed_in=signed_in,
                                          sections=sections,
                                          user_name=user.name if signed_in else None)
    return Chrome(locale, Markup(top.replace(_TOKEN_MARK, generate_csrf())))
