"""A plain-text mail body as markup: escaped, with its web addresses and e-mail addresses as
links and its quoted lines (``>``, ``> >``…) set apart by depth, as Thunderbird, Roundcube and
Nextcloud Mail show them.

Only ``http``/``https`` addresses (and ``www.`` ones, which get ``https://``) and plain e-mail
addresses (``mailto:``, or the app's compose form) become links; anything else
(``javascript:``, ``data:``, ``file:``…) stays text. A web link opens in a new tab without the
reading page as referrer and without a handle on it (``noopener noreferrer``), a ``mailto:`` link
the mail program. The expression has no unbounded repetition that could backtrack: an address is
at most ``_MAX_URL`` characters, a local part 64, a domain label 63, so a hostile body of a
million characters costs linear time.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

_MAX_URL = 2048
# What a web address may hold: up to the next space or character that cannot be in one unescaped,
# nor the invisible ones (zero-width, bidirectional controls) that would make it look like another.
_URL_CHAR = r"[^\s<>\"'`\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# No re.IGNORECASE: in Unicode it lets "s" match "ſ", so "httpſ://…" would pass for a web address
# and link, as a relative URL, into the app itself. Letters are spelled out instead.
_LINK = re.compile(
    rf"(?P<url>(?<![\w@.-])(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww]{{3}}\.)(?P<rest>{_URL_CHAR}{{1,{_MAX_URL}}}))"
    # An apostrophe may be inside a local part (o'neil@), not start one: 'info@…' is quoted.
    rf"|(?P<mail>(?<![\w.%+-])(?<!\w')[A-Za-z0-9._%+-][A-Za-z0-9._%+'-]{{0,63}}@{_LABEL}(?:\.{_LABEL}){{0,15}}"
    r"\.[A-Za-z]{2,63}"
    r"(?![\w-]|\.[A-Za-z0-9]))")  # an address cut short is no address
_RUN = re.compile(_URL_CHAR + "*")
# what ends a sentence (or a quotation) rather than the address before it
_TRAILING = ".,:;!?*'\"\u2019\u201c\u201d\u00bb\u203a\u2026\u3001\u3002\uff0c"
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
        if line[:1] in (">", " ", "\t"):
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
    done = skip_to = 0
    for match in _LINK.finditer(text):
        if match.start() < skip_to:  # inside an over-long address left as text
            continue
        found, attributes = match.group(), _ATTRIBUTES
        if match.group("url"):
            if len(match.group("rest")) == _MAX_URL:  # longer than any address we link: left as text
                skip_to = _RUN.match(text, match.end()).end()
                continue
            found = _without_trailing(found)
            host = found[found.index("://") + 3:] if "://" in found else found[4:]
            if not host[:1].isalnum():  # a scheme or prefix alone, or no host after it (http:///x, www..x)
                continue
            href = found if found[:4].lower() == "http" else "https://" + found
        elif compose_to is not None:
            href, attributes = compose_to(found), ""
        else:  # a mail program opens it: no new tab to leave empty
            href, attributes = "mailto:" + found, ""
        start = match.start()
        parts.append(escape(text[done:start]))
        parts.append(f'<a href="{escape(href)}"{attributes}>{escape(found)}</a>')
        done = start + len(found)
    parts.append(escape(text[done:]))
    return Markup("".join(parts))


def _without_trailing(url: str) -> str:
    """``url`` without the punctuation that closes the sentence or bracket around it: a
    closing bracket stays when the address opened it (``…/Foo_(bar)``). Linear: the counts
    are taken once (stripping never removes an opening bracket)."""
    surplus = {close: url.count(close) - url.count(open_) for close, open_ in _CLOSING.items()}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last in _CLOSING and surplus[last] > 0:
            surplus[last] -= 1
            end -= 1
        else:
            break
    return url[:end]
