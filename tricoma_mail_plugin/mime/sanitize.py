"""Sanitizing the HTML of a mail before it is shown.

One pass of nh3 (ammonia, on html5ever) with an explicit allow-list of tags and attributes. Every
URL and style is decided in nh3's ``attribute_filter`` callback: links keep only http(s), mailto
and tel; ``cid:`` images are rewritten to the app's URLs; remote images are replaced by a blank
placeholder and counted until the user allows them; CSS declarations that could load or run
anything are dropped. Scripts, styles, frames, plugins, forms, SVG and MathML do not survive.

The output is meant for an ``<iframe sandbox>`` with a strict CSP: this module is one of two
layers, not the only one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

import nh3

MAX_NESTING = 256
MAX_ATTRIBUTES_PER_TAG = 1000
# A transparent 1x1 GIF: keeps the layout of a blocked image without loading anything.
BLOCKED_IMAGE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

ALLOWED_TAGS = frozenset({
    "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote",
    "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn",
    "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hgroup", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "nav",
    "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "tt", "u", "ul", "var", "wbr",
})

# Dropped with everything inside them; other unknown tags are dropped but keep their text.
DROPPED_WITH_CONTENT = frozenset({
    "applet", "embed", "frame", "frameset", "iframe", "math", "noembed", "noframes", "noscript",
    "object", "script", "select", "style", "svg", "template", "textarea", "title", "xmp",
})

_TABLE_CELL = {"abbr", "align", "bgcolor", "colspan", "headers", "height", "nowrap", "rowspan",
               "scope", "valign", "width"}
ALLOWED_ATTRIBUTES = {
    "*": {"align", "bgcolor", "dir", "height", "lang", "style", "title", "valign", "width"},
    "a": {"href"},
    "img": {"alt", "border", "height", "hspace", "src", "vspace", "width"},
    "table": {"border", "cellpadding", "cellspacing", "frame", "rules", "summary"},
    "td": _TABLE_CELL,
    "th": _TABLE_CELL,
    "col": {"span"},
    "colgroup": {"span"},
    "font": {"color", "face", "size"},
    "hr": {"color", "noshade", "size"},
    "br": {"clear"},
    "ol": {"reversed", "start", "type"},
    "ul": {"type"},
    "li": {"type", "value"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "time": {"datetime"},
    "details": {"open"},
    "bdo": {"dir"},
}

LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/gif", "image/jpeg", "image/jpg", "image/webp"})

# Simple, layout-only properties. Anything that takes a URL or positions content over the page
# (background-image, list-style-image, content, position, cursor, behavior…) is not here.
ALLOWED_STYLE_PROPERTIES = frozenset({
    "background", "background-color", "border", "border-bottom", "border-bottom-color",
    "border-bottom-left-radius", "border-bottom-right-radius", "border-bottom-style",
    "border-bottom-width", "border-collapse", "border-color", "border-left", "border-left-color",
    "border-left-style", "border-left-width", "border-radius", "border-right",
    "border-right-color", "border-right-style", "border-right-width", "border-spacing",
    "border-style", "border-top", "border-top-color", "border-top-left-radius",
    "border-top-right-radius", "border-top-style", "border-top-width", "border-width",
    "box-sizing", "caption-side", "clear", "color", "direction", "display", "empty-cells",
    "float", "font", "font-family", "font-size", "font-style", "font-variant", "font-weight",
    "height", "letter-spacing", "line-height", "list-style-position", "list-style-type",
    "margin", "margin-bottom", "margin-left", "margin-right", "margin-top", "max-height",
    "max-width", "min-height", "min-width", "opacity", "overflow", "overflow-wrap", "overflow-x",
    "overflow-y", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top",
    "table-layout", "text-align", "text-decoration", "text-decoration-color",
    "text-decoration-line", "text-decoration-style", "text-indent", "text-overflow",
    "text-transform", "vertical-align", "visibility", "white-space", "width", "word-break",
    "word-spacing", "word-wrap",
})
# Checked on the lower-cased value with all whitespace removed.
_UNSAFE_CSS = (
    "url(", "image(", "image-set(", "element(", "cross-fade(", "src(", "attr(", "var(",
    "expression", "@import", "behavior", "binding", "javascript:", "vbscript:", "\\", "/*", "*/",
    "<", ">", "{", "}", "&",
)


@dataclass(frozen=True)
class SanitizedHtml:
    """Sanitized markup, how many remote images were blocked, and whether the input was cut."""

    html: str
    remote_blocked: int
    truncated: bool


def sanitize_html(
    html: str,
    *,
    cid_map: dict[str, str] | None = None,
    allow_remote: bool = False,
    max_chars: int = 1_000_000,
) -> SanitizedHtml:
    """Sanitize the HTML body of a mail for display.

    ``cid_map`` maps Content-IDs (with or without angle brackets or ``cid:``) to the app's URLs
    for those parts; they are trusted and written as given. ``cid:`` images not in the map lose
    their ``src``. Remote (http, https, protocol-relative) images are replaced by a blank
    placeholder and counted in ``remote_blocked`` unless ``allow_remote``. Input beyond
    ``max_chars`` is cut off first (``truncated``).
    """
    if not isinstance(html, str):
        raise TypeError(f"sanitize_html() needs str, not {type(html).__name__}")
    truncated = len(html) > max_chars
    if truncated:
        html = html[:max_chars]
    html = defuse_markup(_SURROGATE.sub("\ufffd", html))
    rewriter = _AttributeRewriter(cid_map or {}, allow_remote)
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=rewriter,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return SanitizedHtml(cleaned, rewriter.remote_blocked, truncated)


class _AttributeRewriter:
    """nh3's ``attribute_filter``: the final word on every allowed attribute's value."""

    def __init__(self, cid_map: dict[str, str], allow_remote: bool) -> None:
        self.allow_remote = allow_remote
        self.remote_blocked = 0
        self._cids: dict[str, str] = {}
        self._folded_cids: dict[str, str] = {}
        for content_id, url in cid_map.items():
            key = _normalize_cid(content_id)
            if key:
                self._cids[key] = url
                self._folded_cids[key.lower()] = url

    def __call__(self, tag: str, attribute: str, value: str) -> str | None:
        try:
            return self._rewrite(tag, attribute, value)
        except Exception:  # fail closed: drop the attribute
            return None

    def _rewrite(self, tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute in ("target", "rel"):
            return value  # set by the sanitizer itself
        squeezed = _CONTROLS_AND_SPACE.sub("", value).lower()
        if "<" in value or ">" in value or "javascript:" in squeezed or "vbscript:" in squeezed:
            # no markup or script URL in any value, whatever a later consumer makes of it
            return None
        if attribute == "style":
            return filter_style(value)
        if attribute == "href":
            return _link(value) if tag == "a" else None
        if attribute == "src":
            return self._image(value) if tag == "img" else None
        return value

    def _image(self, value: str) -> str | None:
        url = _clean_url(value)
        scheme = _scheme(url)
        if scheme == "cid":
            key = _normalize_cid(url)
            return self._cids.get(key) or self._folded_cids.get(key.lower())
        if scheme == "data":
            return url if _DATA_IMAGE.match(url) else None
        if scheme in ("http", "https") or (scheme is None and url.startswith("//")):
            if self.allow_remote:
                return url if scheme else "https:" + url
            self.remote_blocked += 1
            return BLOCKED_IMAGE
        return None


def filter_style(value: str) -> str | None:
    """Keep the declarations of a style attribute that are on the allow-list and load nothing."""
    kept = []
    for declaration in value.split(";"):
        name, colon, setting = declaration.partition(":")
        name, setting = name.strip().lower(), setting.strip()
        if not colon or not setting or name not in ALLOWED_STYLE_PROPERTIES:
            continue
        squeezed = "".join(setting.lower().split())
        if any(token in squeezed for token in _UNSAFE_CSS):
            continue
        if setting.count('"') % 2 or setting.count("'") % 2:
            continue
        kept.append(f"{name}: {setting}")
    return "; ".join(kept) or None


def _link(value: str) -> str | None:
    url = _clean_url(value)
    return url if _scheme(url) in LINK_SCHEMES else None


def _clean_url(value: str) -> str:
    # what browsers do before parsing: strip C0 controls and spaces around, tabs and newlines within
    return _URL_WHITESPACE.sub("", value).strip(_C0_AND_SPACE)


def _scheme(url: str) -> str | None:
    found = _SCHEME.match(url)
    return found.group(1).lower() if found else None


def _normalize_cid(value: str) -> str:
    value = value.strip()
    if value[:4].lower() == "cid:":
        value = unquote(value[4:])
    return value.strip().strip("<>").strip()


def defuse_markup(html: str) -> str:
    """Drop tags that would make html5ever's work grow with the square of the input.

    Elements nested deeper than ``MAX_NESTING`` (100,000 nested divs take 12 s to parse) and tags
    with more than ``MAX_ATTRIBUTES_PER_TAG`` attributes lose their tags here, keeping their text.
    This is only about time; safety is nh3's job, so counting approximately is fine.
    """
    if html.count("<") <= MAX_NESTING and html.count("=") <= MAX_ATTRIBUTES_PER_TAG:
        return html
    pieces, position, depth = [], 0, 0
    skipped: dict[str, int] = {}
    for tag in _TAG.finditer(html):
        closing, name, rest = tag.group(1), tag.group(2).lower(), tag.group(3)
        drop = False
        if rest.count("=") > MAX_ATTRIBUTES_PER_TAG:
            drop = True
        elif name in _NOT_NESTING:
            pass
        elif closing:
            if skipped.get(name):
                skipped[name] -= 1
                drop = True
            elif depth:
                depth -= 1
        elif depth >= MAX_NESTING:
            skipped[name] = skipped.get(name, 0) + 1
            drop = True
        else:
            depth += 1
        if drop:
            pieces.append(html[position:tag.start()])
            position = tag.end()
    pieces.append(html[position:])
    return "".join(pieces)


_SURROGATE = re.compile("[\ud800-\udfff]")
_URL_WHITESPACE = re.compile(r"[\t\n\r]")
_CONTROLS_AND_SPACE = re.compile(r"[\x00-\x20\s]+")
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_DATA_IMAGE = re.compile(
    r"data:(?:%s)(?:;[A-Za-z0-9=._-]+)*(?:;base64)?,"
    % "|".join(re.escape(image_type) for image_type in sorted(INLINE_IMAGE_TYPES)),
    re.IGNORECASE,
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*)>?")
# Void elements, and elements a new sibling closes: neither deepens the tree of open elements.
_NOT_NESTING = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr", "p", "li", "dt",
    "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "optgroup", "colgroup",
    "caption", "rb", "rt", "rp", "rtc", "html", "head", "body",
})
