"""The layout's chrome (stylesheet, top bar, navigation, up to the page's own content), rendered
once per look and remembered per web process (issue 14, point 4).

Every page of the host and of tricoma mail's plugins is framed by ``hostapp/layout.html``. Its
top bar and navigation are the same from page to page for one user in one language, yet building
them from the template cost about as much as the rest of a cached reading page. The layout asks
:func:`page_chrome` instead: the navigation's entries are still asked of the plugins on every
request (a badge may change at any time), and the markup is rendered only for a key made of
every value it shows that stays the same from page to page (language, script root, who is signed
in, the entries' labels, URLs and whether they carry a badge). What changes from page to page —
the CSRF token, the page's own URL in the language form, which entry is the current page, the
badges' numbers — is rendered as a mark and put in per request, so opening one message after
another, or reading one that lowers an unread count, renders nothing again.
"""
from __future__ import annotations

import re
import secrets
from typing import NamedTuple

from flask import render_template, request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from tricoma_mail_plugin import remembered_per_app

from .navigation import navigation_sections

_EXTENSION_KEY = "hostapp_page_chrome"
#: chromes one process keeps; when full, it starts again
MAX_ENTRIES = 512
# random per process, letters, digits and "-" only (escaping leaves it as it is): no name, label
# or URL can hold it, so only the marks' places are filled in
_MARK = f"chrome-{secrets.token_hex(12)}-"
_MARKS = re.compile(f"{_MARK}(\\w+)-")
_CURRENT = ' aria-current="page"'


class Chrome(NamedTuple):
    locale: str
    top: Markup  # from the stylesheet up to the opening of <main>


def _mark(name: str) -> str:
    return f"{_MARK}{name}-"


def page_chrome() -> Chrome:
    """The request's chrome."""
    locale = str(get_locale())
    user = current_user._get_current_object()
    signed_in = bool(user.is_authenticated)
    user_name = user.name if signed_in else None
    sections = navigation_sections() if signed_in else []
    entries = [entry for _title, section in sections for entry in section]
    # a label's type counts: Markup is shown as it is, text escaped
    key = (locale, request.script_root, signed_in, user_name,
           tuple((title, tuple((type(e.label), e.label, e.url, bool(e.badge)) for e in section))
                 for title, section in sections))
    pieces = remembered_per_app(_EXTENSION_KEY, key, lambda: tuple(
        _MARKS.split(_rendered(locale, signed_in, user_name, sections))), MAX_ENTRIES)
    values = {"csrf": generate_csrf(),
              "next": str(escape(request.full_path if request.query_string else request.path))}
    path = request.script_root + request.path  # the entries' URLs hold the script root
    for index, entry in enumerate(entries):
        values[f"current{index}"] = _CURRENT if entry.url == path else ""
        if entry.badge:
            values[f"badge{index}"] = str(escape(entry.badge))
    # pieces alternate: markup, the name of a mark, markup, …
    return Chrome(locale, Markup("".join(piece if position % 2 == 0 else values[piece]
                                         for position, piece in enumerate(pieces))))


def _rendered(locale: str, signed_in: bool, user_name: str | None, sections) -> str:
    numbered, index = [], 0
    for title, section in sections:
        marked = []
        for entry in section:
            marked.append((entry, _mark(f"current{index}"), _mark(f"badge{index}") if entry.badge else None))
            index += 1
        numbered.append((title, marked))
    return render_template("hostapp/_chrome.html", locale=locale, csrf=_mark("csrf"), next_url=_mark("next"),
                           signed_in=signed_in, user_name=user_name, sections=numbered)
