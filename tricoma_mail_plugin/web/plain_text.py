"""A plain-text mail body as markup: escaped, with its web addresses and e-mail addresses as
links and its quoted lines (``>``, ``> >``…) set apart by depth, as Thunderbird, Roundcube and
Nextcloud Mail show them.

Only ``http``/``https`` addresses (and ``www.`` ones, which get ``https://``) and plain e-mail
addresses (``mailto:``, or the app's compose form) become links; anything else (``javascript:``, ``data:``, ``file:``…) stays
text. A link opens in a new tab without the reading page as referrer and without a handle on
it (``noopener noreferrer``). The expression has no unbounded repetition that could backtrack:
an address is at most ``_MAX_URL`` characters, a local part 64, a domain label 63, so a
hostile body of a million characters costs linear time.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

_MAX_URL = 2048
# A web address runs to the next space or character that cannot be in one unescaped; what
# usually follows an address in prose (a full stop, a closing bracket) is cut off afterwards.
_LINK = re.compile(
    r"(?P<url>(?<![\w@.-])(?:https?://|www\.)(?P<rest>[^\s<>\"'`\x00-\x1f\x7f]{1,%d}))"
    r"|(?P<mail>(?<![\w.%%+-])[A-Za-z0-9._%%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?){0,8}\.[A-Za-z]{2,63}(?![\w-]))" % _MAX_URL,
    re.IGNORECASE)
_TRAILING = ".,:;!?*'\""  # ends a sentence rather than the address
_CLOSING = {")": "(", "]": "[", "}": "{"}
_ATTRIBUTES = ' rel="noopener noreferrer" target="_blank"'


_QUOTE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]?)+")
QUOTE_DEPTHS = 3  # deeper quotes look like the third level


def mail_text(text: str, compose_to: Callable[[str], str] | None = None) -> Markup:
    """:func:`linked_text`, with each run of quoted lines of one depth in a
    ``<span class="quote-N">`` (N the depth, at most ``QUOTE_DEPTHS``); the ``>`` stay."""
    linked = linked_text(text, compose_to)
    if ">" not in text:
        return linked
    # A link never holds a line break, so the linked text has the lines of the text, in order.
    lines, marked = text.split("\n"), str(linked).split("\n")
    last = len(lines) - 1
    parts: list[str] = []
    run_depth = 0
    for index, line in enumerate(lines):
        depth = 0
        if line[:1] == ">" or line[:1] in (" ", "\t"):
            prefix = _QUOTE_PREFIX.match(line)
            if prefix is not None:
                depth = min(prefix.group().count(">"), QUOTE_DEPTHS)
        if depth != run_depth:
            if run_depth:
                parts.append("</span>")
            if depth:
                parts.append(f'<span class="quote-{depth}">')
            run_depth = depth
        parts.append(marked[index] if index == last else marked[index] + "\n")
    if run_depth:
        parts.append("</span>")
    return Markup("".join(parts))


def linked_text(text: str, compose_to: Callable[[str], str] | None = None) -> Markup:
    """``text`` escaped for HTML, its addresses as ``<a>`` links (the text of each as written).
    An e-mail address links to ``compose_to(address)`` when given (the app's own compose form,
    in the same tab, as Roundcube does), else to ``mailto:``."""
    parts: list[str] = []
    done = 0
    for match in _LINK.finditer(text):
        found, attributes = match.group(), _ATTRIBUTES
        if match.group("url"):
            if len(match.group("rest")) == _MAX_URL:  # longer than any address we link: left as text
                continue
            found = _without_trailing(found)
            if found.lower() in ("http://", "https://", "www.") or found.endswith("://"):
                continue
            href = found if found[:4].lower() == "http" else "https://" + found
        elif compose_to is not None:
            href, attributes = compose_to(found), ""
        else:
            href = "mailto:" + found
        start = match.start()
        parts.append(escape(text[done:start]))
        parts.append(f'<a href="{escape(href)}"{attributes}>{escape(found)}</a>')
        done = start + len(found)
    parts.append(escape(text[done:]))
    return Markup("".join(parts))


def _without_trailing(url: str) -> str:
    """``url`` without the punctuation that closes the sentence or bracket around it: a
    closing bracket stays when the address opened it (``…/Foo_(bar)``)."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _CLOSING and url.count(last) > url.count(_CLOSING[last]):
            url = url[:-1]
        else:
            break
    return url
